// The gateway's circuit breakers, one per subgraph: made when the gateway routes the subgraph,
// reported as metrics (state and open transitions) and in the `/health/ready` body. An open
// breaker does not make the gateway unready: it still answers everything the other subgraphs
// provide, and a load balancer taking it out would only turn partial answers into none.
import type { Logger } from '../../../shared/logger.ts';
import type { ReadinessCheck } from '../../../shared/http/server.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { CircuitBreaker, type BreakerSettings, type BreakerSnapshot, type BreakerState } from './breaker.ts';

const STATE_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

export interface SubgraphBreakers {
  /** The breaker of the subgraph `name`, made with `settings` on first use. */
  breakerFor(name: string, settings: BreakerSettings): CircuitBreaker;
  /** Every breaker's state, by subgraph. */
  snapshot(): Record<string, BreakerSnapshot>;
  /** Always passes; its detail is the snapshot. */
  readiness: ReadinessCheck;
}

export function createSubgraphBreakers(
  metrics: Pick<GatewayMetrics, 'breakerState' | 'breakerOpened'>,
  logger: Logger,
): SubgraphBreakers {
  const breakers = new Map<string, CircuitBreaker>();
  const snapshot = () =>
    Object.fromEntries([...breakers].map(([name, breaker]) => [name, breaker.snapshot()]));
  return {
    breakerFor(name, settings) {
      let breaker = breakers.get(name);
      if (breaker) return breaker;
      metrics.breakerState.set({ subgraph: name }, STATE_VALUES.closed);
      breaker = new CircuitBreaker({
        ...settings,
        onChange: (state) => {
          metrics.breakerState.set({ subgraph: name }, STATE_VALUES[state]);
          if (state === 'open') {
            metrics.breakerOpened.inc({ subgraph: name });
            logger.warn({ subgraph: name, cooldownMs: settings.cooldownMs }, 'subgraph breaker opened');
          } else logger.info({ subgraph: name }, `subgraph breaker ${state}`);
        },
      });
      breakers.set(name, breaker);
      return breaker;
    },
    snapshot,
    readiness: { name: 'subgraphs', check: async () => snapshot() },
  };
}
