// A ThrottleStore that uses a shared store (Redis) and, when it fails, the instance's own
// memory: while Redis cannot be reached each gateway throttles logins by itself, as it does
// without REDIS_URL, rather than refusing every login or letting every guess through. What was
// counted in memory is not copied to Redis when it is back.
import type { ThrottleState, Transition } from './login-throttle-policy.ts';
import type { ThrottleStore } from './login-throttle-store.ts';

export class FallbackThrottleStore implements ThrottleStore {
  readonly #shared: ThrottleStore;
  readonly #local: ThrottleStore;
  readonly #onFallback: (err: unknown) => void;

  constructor(shared: ThrottleStore, local: ThrottleStore, onFallback: (err: unknown) => void) {
    this.#shared = shared;
    this.#local = local;
    this.#onFallback = onFallback;
  }

  async update<R>(
    key: string,
    now: number,
    change: (state: ThrottleState | undefined) => Transition<R>,
  ): Promise<R> {
    try {
      return await this.#shared.update(key, now, change);
    } catch (err) {
      this.#onFallback(err);
      return this.#local.update(key, now, change);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#shared.close(), this.#local.close()]);
  }
}
