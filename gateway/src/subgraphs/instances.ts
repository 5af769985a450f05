// The instances of one subgraph (several URLs in ORDERS_URL and its siblings) and how one call
// picks among them. Calls go round robin: each starts at the instance after the one the
// previous call started at, so load spreads evenly without any state shared between gateways.
// Each instance has its own circuit breaker: an instance whose breaker is open (or has its one
// probe out) is skipped, so a dead instance costs its callers nothing once it has failed enough.
//
// A call that fails on one instance goes on to the next when doing so cannot do anything twice:
// always when nothing reached the instance (connection refused: the instance is gone or not up
// yet), and for reads (client queries, health checks, schema loading) also when the instance
// broke the connection or said it is unavailable (502/503/504). A mutation that may have reached
// an instance is never sent again: its caller gets SUBGRAPH_UNAVAILABLE and decides. A timeout
// is never retried either: the caller has already waited the whole time limit once.
//
// Home-made (about 60 lines) rather than undici's BalancedPool: that one balances connections,
// not calls, and knows nothing of our breakers or which calls are safe to repeat.
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { CircuitBreaker } from './breaker.ts';
import { mayShare } from './shared-fetch.ts';
import {
  SubgraphUnavailableError,
  sentNothing,
  unavailabilityOf,
  type UnavailableReason,
} from './unavailable.ts';

export interface SubgraphInstance {
  /** Its GraphQL endpoint. */
  readonly url: string;
  /** host:port, which names it in metrics, logs and `/health/ready`. */
  readonly label: string;
  readonly breaker: CircuitBreaker;
}

/** Called when a call failed on `instance` and goes on to another one. */
export type FailoverListener = (
  instance: SubgraphInstance,
  reason: UnavailableReason,
  error: unknown,
) => void;

/** host:port of a URL, with the scheme's default port when it names none. */
export function instanceLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'https:' ? '443' : '80')}`;
}

/** True for the fetches that change nothing: a client's query, a health check, schema loading. */
export function isRead<C extends object>(options: GraphQLDataSourceProcessOptions<C>): boolean {
  // Only an incoming operation has a request context; the other kinds only read. Of the
  // incoming ones, the client queries: the same test that decides which fetches may be shared.
  return !('incomingRequestContext' in options) || mayShare(options);
}

/** Whether a call that failed for `reason` may be sent to another instance. */
function mayTryElsewhere(reason: UnavailableReason, error: unknown, read: boolean): boolean {
  if (sentNothing(error)) return true;
  return read && (reason === 'unreachable' || reason === 'unavailable');
}

export class SubgraphInstances {
  readonly name: string;
  readonly instances: readonly SubgraphInstance[];
  private next = 0;

  constructor(name: string, instances: readonly SubgraphInstance[]) {
    if (instances.length === 0) throw new Error(`subgraph "${name}" has no instance to route to`);
    this.name = name;
    this.instances = instances;
  }

  /**
   * Sends one call (`send` to an instance) through the instances' breakers, going on to the
   * next instance by the rules at the top of this file. Fails with SubgraphUnavailableError when no instance
   * answered: for the last instance's reason, or `breaker-open` when every breaker was open.
   */
  async call<T>(
    send: (instance: SubgraphInstance) => Promise<T>,
    read: boolean,
    onFailover?: FailoverListener,
  ): Promise<T> {
    let failed: { instance: SubgraphInstance; reason: UnavailableReason; error: unknown } | undefined;
    // Each call starts one instance further on and goes round from there, without copying the list.
    const count = this.instances.length;
    const start = this.next;
    this.next = (start + 1) % count;
    for (let i = 0; i < count; i++) {
      const instance = this.instances[(start + i) % count]!;
      const attempt = instance.breaker.attempt();
      if (!attempt) continue;
      if (failed) onFailover?.(failed.instance, failed.reason, failed.error);
      try {
        const response = await send(instance);
        attempt.succeeded();
        return response;
      } catch (error) {
        const reason = unavailabilityOf(error);
        // The instance answered, if with an error: it is up, the error is the caller's to see.
        if (!reason) {
          attempt.succeeded();
          throw error;
        }
        attempt.failed();
        failed = { instance, reason, error };
        if (!mayTryElsewhere(reason, error, read)) break;
      }
    }
    throw new SubgraphUnavailableError(this.name, failed?.reason ?? 'breaker-open', failed?.error);
  }
}
