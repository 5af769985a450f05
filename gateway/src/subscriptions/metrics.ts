// The subscription figures on the gateway's /metrics.
import { Counter, Gauge } from 'prom-client';
import type { Metrics } from '../../../shared/observability/metrics.ts';

export type Transport = 'ws' | 'sse';

export interface SubscriptionMetrics {
  readonly live: Gauge<'transport'>;
  readonly delivered: Counter<'transport'>;
  readonly dropped: Counter<'transport' | 'reason'>;
  readonly feeds: Gauge;
  readonly executions: Counter;
  readonly firstStateReads: Counter;
  readonly firstStateQueries: Counter;
  readonly resumeReads: Counter;
  readonly starting: Gauge;
}

export function createSubscriptionMetrics(metrics: Metrics): SubscriptionMetrics {
  const registers = [metrics.registry];
  return {
    live: new Gauge<'transport'>({
      name: 'gateway_live_subscriptions',
      help: 'Subscriptions being served, by transport (ws, sse)',
      labelNames: ['transport'],
      registers,
    }),
    delivered: new Counter<'transport'>({
      name: 'gateway_subscription_events_delivered_total',
      help: 'Subscription events handed to clients (the current state included), by transport',
      labelNames: ['transport'],
      registers,
    }),
    dropped: new Counter<'transport' | 'reason'>({
      name: 'gateway_subscriptions_dropped_total',
      help: 'Subscribers the gateway disconnected, by reason (slow: they did not read their events)',
      labelNames: ['transport', 'reason'],
      registers,
    }),
    feeds: new Gauge({
      name: 'gateway_subscription_feeds',
      help: 'Orders this gateway listens to on NATS (one subscription per order, shared by its subscribers)',
      registers,
    }),
    executions: new Counter({
      name: 'gateway_subscription_executions_total',
      help: 'Status changes executed through the supergraph for subscribers (one per event per group of identical subscriptions)',
      registers,
    }),
    firstStateReads: new Counter({
      name: 'gateway_subscription_first_state_reads_total',
      help: 'Current states read for starting subscribers (one per order per group of identical subscribers starting together)',
      registers,
    }),
    firstStateQueries: new Counter({
      name: 'gateway_subscription_first_state_queries_total',
      help: 'Queries through the supergraph that read orders for subscribers: current states, resume points, resyncs (one may read several orders of the same user)',
      registers,
    }),
    resumeReads: new Counter({
      name: 'gateway_subscription_resume_reads_total',
      help: 'Orders read for resuming subscribers (afterSequence): none when this gateway already follows the order for the same rights',
      registers,
    }),
    starting: new Gauge({
      name: 'gateway_subscriptions_starting',
      help: 'Subscriptions accepted whose current state is still being read',
      registers,
    }),
  };
}
