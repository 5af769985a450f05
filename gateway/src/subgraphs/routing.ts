// How the gateway reaches each subgraph the supergraph names: its URLs (from the configuration,
// else the supergraph's), a keep-alive pool, a circuit breaker per instance, and the data source
// that fails over between instances, with their metrics and logs.
import type { RemoteGraphQLDataSource, ServiceEndpointDefinition } from '@apollo/gateway';
import { createServiceHeaders } from '../../../shared/auth/service-identity.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { GatewayContext } from '../auth/context.ts';
import { SUBGRAPH_URL_VARIABLES, subgraphCallSettings, type GatewayConfig } from '../config.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { SubgraphBreakers } from './breakers.ts';
import { createDataSource } from './data-source.ts';
import { createSubgraphFetcher, type SubgraphFetcher } from './fetcher.ts';
import { SubgraphInstances, instanceLabel } from './instances.ts';

export interface SubgraphRouting {
  /** ApolloGateway's buildService: the data source of one subgraph. */
  buildService(definition: ServiceEndpointDefinition): RemoteGraphQLDataSource<GatewayContext>;
  /** The subgraphs built so far. */
  readonly routed: ReadonlySet<string>;
  /** Closes every subgraph's connection pool. */
  close(): Promise<void>;
}

export function createSubgraphRouting(
  config: GatewayConfig,
  logger: Logger,
  gatewayMetrics: GatewayMetrics,
  breakers: SubgraphBreakers,
): SubgraphRouting {
  const routed = new Set<string>();
  const fetchers: SubgraphFetcher[] = [];
  const serviceHeaders = createServiceHeaders(config.serviceSecret, config.service);
  return {
    routed,
    close: async () => {
      await Promise.all(fetchers.map((f) => f.close().catch(() => undefined)));
    },
    buildService: ({ name, url }) => {
      const targets = subgraphTargets(config, name, url);
      routed.add(name);
      const settings = subgraphCallSettings(config.subgraphs, name);
      // One keep-alive pool per subgraph: undici keeps its connections per origin, so each
      // instance gets its own `connections` within it.
      const fetcher = createSubgraphFetcher({
        connections: config.subgraphs.connections,
        timeoutMs: settings.timeoutMs,
        onConnect: () => gatewayMetrics.subgraphConnections.inc({ subgraph: name }),
      });
      fetchers.push(fetcher);
      const instances = new SubgraphInstances(
        name,
        targets.map((target) => {
          const label = instanceLabel(target);
          return { url: target, label, breaker: breakers.breakerFor(name, label, settings.breaker) };
        }),
      );
      logger.debug({ subgraph: name, urls: targets }, 'subgraph routed');
      return createDataSource({
        name,
        instances,
        fetcher: fetcher.fetcher,
        serviceHeaders,
        dedup: config.subgraphs.dedup,
        onFetch: (shared) => gatewayMetrics.subgraphFetches.inc({ subgraph: name, shared: String(shared) }),
        onUnavailable: (reason, err) => {
          gatewayMetrics.subgraphUnavailable.inc({ subgraph: name, reason });
          if (err) logger.debug({ subgraph: name, reason, err }, 'subgraph call failed');
        },
        onFailover: (instance, reason, err) => {
          gatewayMetrics.subgraphFailovers.inc({ subgraph: name, instance: instance.label, reason });
          logger.debug(
            { subgraph: name, instance: instance.label, reason, err },
            'subgraph instance failed; trying another',
          );
        },
      });
    },
  };
}

/** The configured URLs of a subgraph, else the supergraph's; throws when there are none. */
function subgraphTargets(config: GatewayConfig, name: string, url: string | undefined): readonly string[] {
  const targets = config.subgraphUrls[name] ?? (url ? [url] : []);
  if (targets.length === 0) {
    const variable = SUBGRAPH_URL_VARIABLES[name as keyof typeof SUBGRAPH_URL_VARIABLES];
    throw new Error(`the supergraph has no URL for subgraph "${name}"${variable ? `; set ${variable}` : ''}`);
  }
  return targets;
}

/** Warns of each configured subgraph the supergraph does not have (a misspelt name, say). */
export function warnUnrouted(config: GatewayConfig, routing: SubgraphRouting, logger: Logger): void {
  for (const name of Object.keys(config.subgraphUrls)) {
    if (!routing.routed.has(name))
      logger.warn({ subgraph: name }, `the supergraph has no subgraph "${name}" to route`);
  }
}
