// Where the login throttle keeps its states. The interface is one atomic read-modify-write per
// key, so the pure transitions of login-throttle-policy.ts run unchanged over a shared store
// (login-throttle-redis-store.ts) when gateways must agree; this file holds the in-process
// implementation, which each gateway instance keeps to itself.
import type { ThrottleState, Transition } from './login-throttle-policy.ts';

export interface ThrottleStore {
  /**
   * Applies `change` to the state under `key` as one step no other update interleaves with, and
   * returns its result. `undefined` deletes the state; a state is gone once its `expiresAt` passes.
   */
  update<R>(
    key: string,
    now: number,
    change: (state: ThrottleState | undefined) => Transition<R>,
  ): Promise<R>;
  /** Stops background work (sweeping). */
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  /** The most states kept; past it, the least recently updated are dropped. */
  readonly maxKeys: number;
  /** How often expired states are swept (0: never, for tests). */
  readonly sweepIntervalMs: number;
  readonly now?: () => number;
}

/**
 * A Map in least-recently-updated order. Its size is capped so a flood of distinct accounts or
 * addresses cannot grow the gateway's memory; what is dropped first is what has been quiet the
 * longest, i.e. the states least likely to be in the middle of an attack.
 */
export class MemoryThrottleStore implements ThrottleStore {
  readonly #states = new Map<string, ThrottleState>();
  readonly #maxKeys: number;
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions) {
    if (!(options.maxKeys >= 1)) throw new RangeError('a throttle store needs maxKeys >= 1');
    this.#maxKeys = options.maxKeys;
    const now = options.now ?? Date.now;
    if (options.sweepIntervalMs > 0) {
      this.#sweeper = setInterval(() => this.sweep(now()), options.sweepIntervalMs);
      this.#sweeper.unref();
    }
  }

  async update<R>(
    key: string,
    now: number,
    change: (state: ThrottleState | undefined) => Transition<R>,
  ): Promise<R> {
    const current = this.#states.get(key);
    const { state, result } = change(current && current.expiresAt > now ? current : undefined);
    this.#states.delete(key);
    if (state && state.expiresAt > now) {
      this.#states.set(key, state);
      this.#evict();
    }
    return result;
  }

  /** Drops every expired state. */
  sweep(now: number): void {
    for (const [key, state] of this.#states) if (state.expiresAt <= now) this.#states.delete(key);
  }

  get size(): number {
    return this.#states.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #evict(): void {
    while (this.#states.size > this.#maxKeys) {
      const oldest = this.#states.keys().next().value;
      if (oldest === undefined) return;
      this.#states.delete(oldest);
    }
  }
}
