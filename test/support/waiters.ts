// Promises that settle once a condition over some changing state holds, for test helpers that
// record events (mail received, subscription results): the owner calls `wake()` on every change,
// so a test awaits the event instead of polling or sleeping.
export class Waiters {
  private readonly pending = new Set<() => void>();

  /**
   * Resolves once `holds()` is true (checked now and on every `wake()`); rejects with
   * `failure()`, built at that moment so it can describe what was seen, after `timeoutMs`.
   */
  until(holds: () => boolean, failure: () => Error, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!holds()) return;
        this.pending.delete(waiter);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.pending.delete(waiter);
        reject(failure());
      }, timeoutMs);
      this.pending.add(waiter);
      waiter();
    });
  }

  /** Checks every pending condition again: call it after each change of the state. */
  wake(): void {
    for (const waiter of [...this.pending]) waiter();
  }
}
