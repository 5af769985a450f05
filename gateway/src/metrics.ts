// The gateway's own figures, registered beside the shared ones in the process's registry.
import { Counter, Gauge } from 'prom-client';
import type { Metrics } from '../../shared/observability/metrics.ts';

export interface GatewayMetrics {
  readonly rateLimited: Counter;
  readonly limitsFallbacks: Counter<'limiter'>;
  readonly queriesRejected: Counter<'limit'>;
  readonly subgraphConnections: Counter<'subgraph'>;
  /** 0 closed, 1 half-open, 2 open. */
  readonly breakerState: Gauge<'subgraph' | 'instance'>;
  readonly breakerOpened: Counter<'subgraph' | 'instance'>;
  /** Calls that failed on one instance and went on to another. */
  readonly subgraphFailovers: Counter<'subgraph' | 'instance' | 'reason'>;
  readonly subgraphUnavailable: Counter<'subgraph' | 'reason'>;
  readonly subgraphFetches: Counter<'subgraph' | 'shared'>;
}

export function createGatewayMetrics(metrics: Metrics): GatewayMetrics {
  const registers = [metrics.registry];
  return {
    rateLimited: new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused by the per-client rate limit',
      registers,
    }),
    limitsFallbacks: new Counter<'limiter'>({
      name: 'gateway_limits_fallbacks_total',
      help: 'Rate-limit (limiter="requests") and login-throttle (limiter="logins") decisions taken from the instance\'s own memory because Redis (REDIS_URL) could not answer',
      labelNames: ['limiter'],
      registers,
    }),
    queriesRejected: new Counter<'limit'>({
      name: 'gateway_queries_rejected_total',
      help: 'Operations refused as too complex, by the limit they broke (size, depth, aliases, cost)',
      labelNames: ['limit'],
      registers,
    }),
    subgraphConnections: new Counter<'subgraph'>({
      name: 'gateway_subgraph_connections_opened_total',
      help: 'TCP connections opened to each subgraph (a low figure means keep-alive works)',
      labelNames: ['subgraph'],
      registers,
    }),
    breakerState: new Gauge<'subgraph' | 'instance'>({
      name: 'gateway_subgraph_breaker_state',
      help: 'The circuit breaker of each subgraph instance (host:port): 0 closed, 1 half-open (one probe out), 2 open (calls skip it)',
      labelNames: ['subgraph', 'instance'],
      registers,
    }),
    breakerOpened: new Counter<'subgraph' | 'instance'>({
      name: 'gateway_subgraph_breaker_opened_total',
      help: 'Times the circuit breaker of each subgraph instance (host:port) opened',
      labelNames: ['subgraph', 'instance'],
      registers,
    }),
    subgraphUnavailable: new Counter<'subgraph' | 'reason'>({
      name: 'gateway_subgraph_unavailable_total',
      help: 'Subgraph calls answered SUBGRAPH_UNAVAILABLE, by why (unreachable, timeout, unavailable, breaker-open)',
      labelNames: ['subgraph', 'reason'],
      registers,
    }),
    subgraphFailovers: new Counter<'subgraph' | 'instance' | 'reason'>({
      name: 'gateway_subgraph_failovers_total',
      help: 'Subgraph calls that failed on one instance (host:port), by why, and were tried on another instance',
      labelNames: ['subgraph', 'instance', 'reason'],
      registers,
    }),
    subgraphFetches: new Counter<'subgraph' | 'shared'>({
      name: 'gateway_subgraph_fetches_total',
      help: 'Subgraph fetches of query plans: shared="true" joined an identical fetch in flight instead of calling the subgraph (SUBGRAPH_DEDUP)',
      labelNames: ['subgraph', 'shared'],
      registers,
    }),
  };
}
