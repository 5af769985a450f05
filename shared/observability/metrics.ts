// Prometheus metrics: one registry per process (no global default registry, so tests can run
// several processes' code side by side), default Node metrics plus HTTP and GraphQL figures.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  readonly graphqlOperations: Counter<'operation' | 'outcome'>;
  readonly graphqlDuration: Histogram<'operation'>;
  readonly sqlQueries: Counter<'source'>;
  readonly messagesPublished: Counter;
  readonly messagesHandled: Counter<'consumer' | 'outcome'>;
}

export function createMetrics(service: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // The event-loop delay is sampled by a timer that wakes the process at this interval (ms) even
  // when it has nothing to do; at prom-client's default, ten times as often, those wake-ups were
  // most of an idle process's CPU. A scrape's percentiles still rest on many samples.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const metrics: Metrics = {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by type and first root field (a closed set) and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operations from the request to the response, by type and first root field (as graphql_operations_total)',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    sqlQueries: new Counter({
      name: 'sql_queries_total',
      help: 'SQL statements sent to the database, by source (request or background)',
      labelNames: ['source'],
      registers: [registry],
    }),
    messagesPublished: new Counter({
      name: 'outbox_messages_published_total',
      help: 'Outbox rows published to JetStream',
      registers: [registry],
    }),
    messagesHandled: new Counter({
      name: 'messages_handled_total',
      help: 'JetStream messages handled, by consumer and outcome (ok, duplicate, retry, dead_letter)',
      labelNames: ['consumer', 'outcome'],
      registers: [registry],
    }),
  };
  // Exported from the start, at 0: a reader can diff the figures before the first query.
  metrics.sqlQueries.inc({ source: 'request' }, 0);
  metrics.sqlQueries.inc({ source: 'background' }, 0);
  return metrics;
}
