// Counts of what a key holds (subscriptions of a user, sockets of an address), kept only while
// above zero: a map of them holds only the keys in use, however many came and went.

/** A Map or a WeakMap of counts. */
export interface Counts<K> {
  get(key: K): number | undefined;
  set(key: K, value: number): unknown;
  delete(key: K): boolean;
}

export function countUp<K>(counts: Counts<K>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** One less for `key`; the key is forgotten at zero. */
export function countDown<K>(counts: Counts<K>, key: K): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

/** `release` that does its work on the first call only (a slot is given back once). */
export function releaseOnce(release: () => void): () => void {
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    release();
  };
}
