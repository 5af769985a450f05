// Caps on live subscriptions held at once, per user (WebSocket and SSE together, on this gateway
// instance) and per connection (a WebSocket carries many; an SSE request is one). Each
// subscription holds a slot from the moment it is accepted until its stream closes; a refused
// one holds none. Counts are dropped at zero, so the maps only hold users and connections with
// live subscriptions (bounded by the caps times the connections the server accepts).
import { countDown, countUp, releaseOnce } from './counts.ts';

export interface QuotaLimits {
  readonly maxPerUser: number;
  readonly maxPerConnection: number;
}

export type QuotaRefusal = 'user' | 'connection';

export class SubscriptionQuota {
  readonly limits: QuotaLimits;
  readonly #perUser = new Map<string, number>();
  readonly #perConnection = new WeakMap<object, number>();

  constructor(limits: QuotaLimits) {
    this.limits = limits;
  }

  /** Takes a slot for `userId` on `connection`: its release (safe to call twice), or which cap is full. */
  acquire(userId: string, connection: object): { release: () => void } | { refused: QuotaRefusal } {
    const user = this.#perUser.get(userId) ?? 0;
    const onConnection = this.#perConnection.get(connection) ?? 0;
    if (user >= this.limits.maxPerUser) return { refused: 'user' };
    if (onConnection >= this.limits.maxPerConnection) return { refused: 'connection' };
    countUp(this.#perUser, userId);
    countUp(this.#perConnection, connection);
    return {
      release: releaseOnce(() => {
        countDown(this.#perUser, userId);
        countDown(this.#perConnection, connection);
      }),
    };
  }

  /** Slots held by `userId` (0 when none). */
  heldBy(userId: string): number {
    return this.#perUser.get(userId) ?? 0;
  }

  /** Users holding at least one slot. */
  get users(): number {
    return this.#perUser.size;
  }
}
