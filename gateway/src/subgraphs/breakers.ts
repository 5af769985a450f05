// The gateway's circuit breakers, one per subgraph instance (each URL the gateway routes a
// subgraph to): a dead instance is skipped while its siblings keep answering. Made when the
// gateway routes the subgraph, reported as metrics (state and open transitions, labelled with
// the subgraph and the instance's host:port) and in the `/health/ready` body. An open breaker
// does not make the gateway unready: it still answers everything the other subgraphs provide,
// and a load balancer taking it out would only turn partial answers into none.
import type { Logger } from '../../../shared/logger.ts';
import type { ReadinessCheck } from '../../../shared/http/server.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { CircuitBreaker, type BreakerSettings, type BreakerSnapshot, type BreakerState } from './breaker.ts';

const STATE_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * What `/health/ready` says of one subgraph: its one instance's breaker, or for several, the
 * best state among them (the subgraph answers while one instance does), the failures of all,
 * and each instance's own by host:port.
 */
export type SubgraphBreakerSnapshot = BreakerSnapshot & {
  readonly instances?: Readonly<Record<string, BreakerSnapshot>>;
};

export interface SubgraphBreakers {
  /** The breaker of the instance `instance` (host:port) of subgraph `name`, made with `settings` on first use. */
  breakerFor(name: string, instance: string, settings: BreakerSettings): CircuitBreaker;
  /** Every subgraph's breaker state. */
  snapshot(): Record<string, SubgraphBreakerSnapshot>;
  /** Always passes; its detail is the snapshot. */
  readiness: ReadinessCheck;
}

export function createSubgraphBreakers(
  metrics: Pick<GatewayMetrics, 'breakerState' | 'breakerOpened'>,
  logger: Logger,
): SubgraphBreakers {
  const bySubgraph = new Map<string, Map<string, CircuitBreaker>>();
  const snapshot = () =>
    Object.fromEntries([...bySubgraph].map(([name, instances]) => [name, subgraphSnapshot(instances)]));
  return {
    breakerFor(name, instance, settings) {
      let instances = bySubgraph.get(name);
      if (!instances) bySubgraph.set(name, (instances = new Map<string, CircuitBreaker>()));
      let breaker = instances.get(instance);
      if (breaker) return breaker;
      const labels = { subgraph: name, instance };
      metrics.breakerState.set(labels, STATE_VALUES.closed);
      breaker = new CircuitBreaker({
        ...settings,
        onChange: (state) => {
          metrics.breakerState.set(labels, STATE_VALUES[state]);
          if (state === 'open') {
            metrics.breakerOpened.inc(labels);
            logger.warn({ ...labels, cooldownMs: settings.cooldownMs }, 'subgraph breaker opened');
          } else logger.info(labels, `subgraph breaker ${state}`);
        },
      });
      instances.set(instance, breaker);
      return breaker;
    },
    snapshot,
    readiness: { name: 'subgraphs', check: async () => snapshot() },
  };
}

const BEST_FIRST: readonly BreakerState[] = ['closed', 'half-open', 'open'];

function subgraphSnapshot(instances: ReadonlyMap<string, CircuitBreaker>): SubgraphBreakerSnapshot {
  const each = [...instances].map(([instance, breaker]) => [instance, breaker.snapshot()] as const);
  if (each.length === 1) return each[0]![1];
  const snapshots = each.map(([, snap]) => snap);
  const state = BEST_FIRST.find((candidate) => snapshots.some((snap) => snap.state === candidate))!;
  const failures = snapshots.reduce((sum, snap) => sum + snap.failures, 0);
  const retries = snapshots.map((snap) => snap.retryInMs).filter((ms) => ms !== undefined);
  return {
    state,
    failures,
    ...(state === 'open' ? { retryInMs: Math.min(...retries) } : {}),
    instances: Object.fromEntries(each),
  };
}
