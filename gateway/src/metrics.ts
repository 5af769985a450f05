// The gateway's own figures, registered beside the shared ones in the process's registry.
import { Counter } from 'prom-client';
import type { Metrics } from '../../shared/observability/metrics.ts';

export interface GatewayMetrics {
  readonly rateLimited: Counter;
  readonly queriesRejected: Counter<'limit'>;
  readonly subgraphConnections: Counter<'subgraph'>;
}

export function createGatewayMetrics(metrics: Metrics): GatewayMetrics {
  const registers = [metrics.registry];
  return {
    rateLimited: new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused by the per-client rate limit',
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
  };
}
