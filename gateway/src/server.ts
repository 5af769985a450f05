// Builds the gateway: Apollo Server 5 running @apollo/gateway on a supergraph file, on the one
// node:http server of the process (GraphQL at /graphql and /, health, metrics). It never
// listens on import; `startGateway` returns the running gateway with its http server, so a
// WebSocket server (graphql-ws) can attach to the same port later.
import { apolloTelemetryEnabled } from './apollo-telemetry.ts';
import type { Server } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { createRemoteTokenVerifier, type TokenVerifier } from '../../shared/auth/identity.ts';
import { createApolloHandler } from '../../shared/http/apollo-handler.ts';
import {
  closeServer,
  createHttpServer,
  listen,
  type ReadinessCheck,
  type RequestHandler,
} from '../../shared/http/server.ts';
import { operationMetricsPlugin } from '../../shared/graphql/operation-metrics.ts';
import type { Logger } from '../../shared/logger.ts';
import { connectNats, natsReadiness, type NatsConnection } from '../../shared/messaging/nats.ts';
import { createMetrics } from '../../shared/observability/metrics.ts';
import { withServerSpan } from '../../shared/observability/tracing.ts';
import { createContextFactory, type GatewayContext } from './auth/context.ts';
import { SUBGRAPH_URL_VARIABLES, subgraphCallSettings, type GatewayConfig } from './config.ts';
import { createGatewayErrorFormatter } from './errors.ts';
import { landingPageOptions } from './landing-page.ts';
import { withCors } from './http/cors.ts';
import { requestMeta } from './http/request-meta.ts';
import { createLimits } from './limits/limits-store.ts';
import { loginThrottlePlugin, withClientAddress } from './limits/login-throttle-plugin.ts';
import { hardenedApolloOptions, queryLimitsPlugin } from './limits/query-limits.ts';
import { createGatewayMetrics } from './metrics.ts';
import { createSubgraphBreakers } from './subgraphs/breakers.ts';
import { createDataSource } from './subgraphs/data-source.ts';
import { SubgraphInstances, instanceLabel } from './subgraphs/instances.ts';
import { subgraphUnavailablePlugin } from './subgraphs/unavailable-plugin.ts';
import { createServiceHeaders } from '../../shared/auth/service-identity.ts';
import { createSubgraphFetcher, type SubgraphFetcher } from './subgraphs/fetcher.ts';
import { createSubscriptions, SSE_PATH, type Subscriptions } from './subscriptions/index.ts';
import { readSupergraph } from './supergraph.ts';

export interface RunningGateway {
  readonly port: number;
  /** `http://127.0.0.1:<port>/graphql` */
  readonly url: string;
  /** The process's one HTTP server: attach WebSocket upgrades (graphql-ws) here. */
  readonly httpServer: Server;
  readonly apollo: ApolloServer<GatewayContext>;
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  /** Default: verification against USERS_JWKS_URL. */
  readonly verifyToken?: TokenVerifier;
}

export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  dependencies: GatewayDependencies = {},
): Promise<RunningGateway> {
  const supergraphSdl = await readSupergraph(config.supergraphPath);
  if (apolloTelemetryEnabled) logger.warn('Apollo telemetry is on (APOLLO_TELEMETRY_DISABLED is not true)');
  const metrics = createMetrics(config.service);
  const gatewayMetrics = createGatewayMetrics(metrics);
  const fetchers: SubgraphFetcher[] = [];
  const breakers = createSubgraphBreakers(gatewayMetrics, logger);
  const limits = createLimits(
    { rateLimit: config.rateLimit, loginThrottle: config.loginThrottle, store: config.limitsStore },
    logger,
    {
      onLimited: () => gatewayMetrics.rateLimited.inc(),
      onFallback: (limiter) => gatewayMetrics.limitsFallbacks.inc({ limiter }),
    },
  );
  const { rateLimiter, loginThrottle } = limits;
  let nats: NatsConnection | undefined;
  let apollo: ApolloServer<GatewayContext> | undefined;
  let apiSchema: GraphQLSchema | undefined;
  let started = false;

  const release = async () => {
    await limits.close();
    if (started)
      await apollo?.stop().catch((err: unknown) => logger.error({ err }, 'stopping Apollo failed'));
    await Promise.all(fetchers.map((f) => f.close().catch(() => undefined)));
    await nats?.drain().catch(() => undefined);
  };

  try {
    nats = await connectNats(config.natsServers, config.service, logger, config.natsCredentials);
    const routed = new Set<string>();
    const serviceHeaders = createServiceHeaders(config.serviceSecret, config.service);
    const gateway = new ApolloGateway({
      supergraphSdl,
      experimental_approximateQueryPlanStoreMiB: config.cacheMiB,
      logger: logger.child({ component: 'apollo-gateway' }),
      buildService: ({ name, url }) => {
        const targets = config.subgraphUrls[name] ?? (url ? [url] : []);
        if (targets.length === 0) {
          const variable = SUBGRAPH_URL_VARIABLES[name as keyof typeof SUBGRAPH_URL_VARIABLES];
          throw new Error(
            `the supergraph has no URL for subgraph "${name}"${variable ? `; set ${variable}` : ''}`,
          );
        }
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
    });

    // Subscriptions validate the client's operation against the supergraph's API schema.
    gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => (apiSchema = schema));

    apollo = new ApolloServer<GatewayContext>({
      gateway,
      // Bounded caches, sized explicitly (Apollo's defaults are the same 30 MiB each): every
      // distinct document a client sends takes a place in them until evicted.
      documentStore: new InMemoryLRUCache<DocumentNode>({ maxSize: config.cacheMiB * 2 ** 20 }),
      cache: new InMemoryLRUCache({ maxSize: config.cacheMiB * 2 ** 20 }),
      formatError: createGatewayErrorFormatter(logger),
      includeStacktraceInErrorResponses: false,
      introspection: config.introspection,
      ...hardenedApolloOptions(config.queryLimits, config.production),
      csrfPrevention: true,
      // runService owns SIGTERM/SIGINT and stops everything in order.
      stopOnTerminationSignals: false,
      logger,
      plugins: [
        ApolloServerPluginUsageReportingDisabled(),
        ApolloServerPluginSchemaReportingDisabled(),
        config.introspection
          ? ApolloServerPluginLandingPageLocalDefault(landingPageOptions())
          : ApolloServerPluginLandingPageDisabled(),
        queryLimitsPlugin<GatewayContext>(config.queryLimits, (limit) =>
          gatewayMetrics.queriesRejected.inc({ limit }),
        ),
        operationMetricsPlugin<GatewayContext>(metrics),
        loginThrottlePlugin<GatewayContext>(loginThrottle, () => gatewayMetrics.rateLimited.inc()),
        subgraphUnavailablePlugin<GatewayContext>(),
      ],
    });
    await apollo.start();
    started = true;
    for (const name of Object.keys(config.subgraphUrls)) {
      if (!routed.has(name))
        logger.warn({ subgraph: name }, `the supergraph has no subgraph "${name}" to route`);
    }
  } catch (err) {
    await release();
    throw err;
  }

  let ready = true;
  const readiness: ReadinessCheck[] = [
    {
      name: 'supergraph',
      check: async () => {
        if (!ready) throw new Error('the gateway is stopping');
      },
    },
    natsReadiness(nats),
    // Always passes: the gateway answers what it can while a breaker is open; shows each state.
    breakers.readiness,
  ];
  const verifyToken = dependencies.verifyToken ?? createRemoteTokenVerifier(config.jwksUrl);
  const subscriptions: Subscriptions = createSubscriptions({
    apollo,
    schema: () => apiSchema,
    nats,
    namespace: config.natsNamespace,
    verifyToken,
    rateLimiter,
    metrics,
    logger,
    trustedProxyHops: config.trustedProxyHops,
    maxQueryBytes: config.queryLimits.maxQueryBytes,
    queryLimits: config.queryLimits,
    production: config.production,
    settings: config.subscriptions,
  });
  const graphql = withCors(
    config.corsOrigins,
    withRequestLog(
      createApolloHandler(
        apollo,
        // The login throttle keys by the client's address, which it finds in the context.
        withClientAddress(
          createContextFactory({
            verifyToken,
            rateLimiter,
            trustedProxyHops: config.trustedProxyHops,
            queryLimits: config.queryLimits,
            onQueryRejected: (limit) => gatewayMetrics.queriesRejected.inc({ limit }),
            logger,
          }),
          config.trustedProxyHops,
        ),
      ),
      config.trustedProxyHops,
      logger,
    ),
  );
  const httpServer = createHttpServer({
    logger,
    metrics,
    readiness,
    metricsToken: config.metricsToken,
    // `/` serves GraphQL too: Sandbox, opened at http://localhost:4000/, sends its requests there.
    routes: {
      '/graphql': graphql,
      '/': graphql,
      [SSE_PATH]: withCors(config.corsOrigins, subscriptions.sseHandler),
    },
  });
  // graphql-ws on the same server and paths as queries.
  subscriptions.attach(httpServer, ['/graphql', '/']);

  let port: number;
  try {
    port = await listen(httpServer, config.port, config.host);
  } catch (err) {
    await subscriptions.close();
    await release();
    throw err;
  }
  logger.info(
    { port, supergraph: config.supergraphPath },
    `gateway ready at http://localhost:${port}/graphql`,
  );

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}/graphql`,
    httpServer,
    apollo,
    stop: () =>
      (stopping ??= (async () => {
        ready = false;
        // Stop accepting first; then close WebSockets (1001 Going Away) and SSE streams, which
        // would otherwise keep the server open; then wait for HTTP requests in flight.
        const closing = closeServer(httpServer);
        await subscriptions.close();
        await closing;
        await release();
        logger.info('gateway stopped');
      })()),
  };
}

/**
 * Runs every request in a server span (continuing the client's traceparent), gives it an id
 * (echoed as x-request-id) and logs one line when it is answered.
 */
function withRequestLog(handler: RequestHandler, trustedProxyHops: number, logger: Logger): RequestHandler {
  return withServerSpan((req, res) => {
    const meta = requestMeta(req, trustedProxyHops);
    res.setHeader('x-request-id', meta.requestId);
    res.on('finish', () => {
      logger.info(
        {
          requestId: meta.requestId,
          traceId: meta.trace.traceId,
          method: req.method,
          path: req.url?.split('?')[0],
          status: res.statusCode,
          userId: meta.userId,
          durationMs: Math.round(performance.now() - meta.startedAt),
        },
        'request',
      );
    });
    return handler(req, res);
  });
}
