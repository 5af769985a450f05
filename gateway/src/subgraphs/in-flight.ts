// Calls that share one run while it is in flight: the first call for a key runs, calls for the
// same key that arrive before it settles wait for it instead of running again, and the key is
// forgotten the moment it settles (this holds no results: it is not a cache).
//
// Each waiter gets its own copy of the result, made when the run settles and before any waiter
// resumes: @apollo/gateway writes into the data a subgraph returned (rewrites, `__typename`,
// merging later fetches into the same objects), so two requests must never hold one object.
// The first caller keeps the original, so a call nobody joined costs no copy.
//
// Home-made (about 50 lines): promise-memoizing libraries (p-memoize, DataLoader with its cache
// cleared on settle) hand every waiter the same object, and DataLoader also batches per tick.

export interface SharedCall<T> {
  readonly result: Promise<T>;
  /** True when this call joined one already in flight (it did not run). */
  readonly shared: boolean;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export class InFlightCalls<T> {
  private readonly flights = new Map<string, Waiter<T>[]>();
  private readonly copy: (value: T) => T;

  /** `copy` makes a waiter's own copy of a result. */
  constructor(copy: (value: T) => T) {
    this.copy = copy;
  }

  /** How many keys are in flight now. */
  get size(): number {
    return this.flights.size;
  }

  /** Runs `run` for `key`, or joins the run for `key` already in flight. */
  call(key: string, run: () => Promise<T>): SharedCall<T> {
    const waiters = this.flights.get(key);
    if (waiters) {
      const result = new Promise<T>((resolve, reject) => waiters.push({ resolve, reject }));
      return { result, shared: true };
    }
    const joined: Waiter<T>[] = [];
    this.flights.set(key, joined);
    return { result: this.settle(key, joined, run), shared: false };
  }

  private async settle(key: string, waiters: Waiter<T>[], run: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await run();
    } catch (error) {
      this.flights.delete(key);
      for (const waiter of waiters) waiter.reject(error);
      throw error;
    }
    // Forgotten before anyone resumes: a call from now on runs afresh.
    this.flights.delete(key);
    for (const waiter of waiters) {
      try {
        waiter.resolve(this.copy(value));
      } catch (error) {
        waiter.reject(error);
      }
    }
    return value;
  }
}
