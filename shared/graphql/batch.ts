// Batched lookups by id, one per request: the gateway asks for many entities at once
// (`_entities`), and each must cost one SQL query for the whole batch, not one per id.
import DataLoader from 'dataloader';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot exist, and must not reach SQL as a malformed uuid. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function batchById<T>(
  fetch: (ids: readonly string[]) => Promise<readonly T[]>,
  idOf: (item: T) => string,
): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(async (ids) => {
    const valid = ids.filter(isUuid);
    const found = valid.length ? await fetch([...new Set(valid.map((id) => id.toLowerCase()))]) : [];
    const byId = new Map(found.map((item) => [idOf(item).toLowerCase(), item]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  });
}

/** Many rows per key (e.g. items per order), one query for all keys. */
export function batchGroups<T>(
  fetch: (keys: readonly string[]) => Promise<readonly T[]>,
  keyOf: (item: T) => string,
): DataLoader<string, T[]> {
  return new DataLoader<string, T[]>(async (keys) => {
    const rows = await fetch([...new Set(keys)]);
    const groups = new Map<string, T[]>();
    for (const row of rows) {
      const key = keyOf(row);
      const group = groups.get(key);
      if (group) group.push(row);
      else groups.set(key, [row]);
    }
    return keys.map((key) => groups.get(key) ?? []);
  });
}
