// Builds the gateway: Apollo Server 5 running @apollo/gateway on a supergraph file, on the one
// node:http server of the process (GraphQL at /graphql and /, health, metrics). It never
// listens on import; `startGateway` returns the running gateway with its http server, so a
// WebSocket server (graphql-ws) can attach to the same port later.
import { apolloTelemetryEnabled } from './apollo-telemetry.ts';
import type { Server } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { GatewayInterface } from '@apollo/server-gateway-interface';
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
import { createMetrics, type Metrics } from '../../shared/observability/metrics.ts';
import { createContextFactory, type GatewayContext } from './auth/context.ts';
import type { GatewayConfig } from './config.ts';
import { createGatewayErrorFormatter } from './errors.ts';
import { landingPageOptions } from './landing-page.ts';
import { withCors } from './http/cors.ts';
import { withRequestLog } from './http/request-log.ts';
import { createLimits, type Limits } from './limits/limits-store.ts';
import { loginThrottlePlugin, withClientAddress } from './limits/login-throttle-plugin.ts';
import { hardenedApolloOptions, queryLimitsPlugin } from './limits/query-limits.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { createPlanOnce, withExecutor } from './plan-once.ts';
import { createSubgraphBreakers, type SubgraphBreakers } from './subgraphs/breakers.ts';
import { createSubgraphRouting, warnUnrouted } from './subgraphs/routing.ts';
import { reportIncompleteAnswers } from './subgraphs/incomplete-answers.ts';
import { subgraphUnavailablePlugin } from './subgraphs/unavailable-plugin.ts';
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

/** What every part of the gateway shares: its metrics, breakers and limits. */
interface GatewayParts {
  readonly metrics: Metrics;
  readonly gatewayMetrics: GatewayMetrics;
  readonly breakers: SubgraphBreakers;
  readonly limits: Limits;
}

/** Apollo started on the supergraph, with what it holds open. */
interface StartedApollo {
  readonly apollo: ApolloServer<GatewayContext>;
  /** Apollo's gateway's executor (each new text planned once): subscriptions run their queries on it too. */
  readonly executor: ApolloGateway['executor'];
  readonly nats: NatsConnection;
  /** The supergraph's API schema, once loaded. */
  readonly apiSchema: () => GraphQLSchema | undefined;
  /** Stops Apollo and closes the limits, the subgraph pools and NATS. */
  release(): Promise<void>;
}

/** How long a start waits for Redis (REDIS_URL) before serving with limits from memory. */
const REDIS_START_WAIT_MS = 5_000;

/**
 * A new instance serves with the limits its peers share once Redis answers: deciding from its
 * own memory at first would let each client a burst more through it. Bounded, so Redis being
 * down never stops a gateway starting (limits-store.ts).
 */
async function startWithSharedLimits(limits: Limits, logger: Logger): Promise<void> {
  if (!limits.shared || (await limits.connected(REDIS_START_WAIT_MS))) return;
  logger.warn(
    `Redis (REDIS_URL) not ready after ${REDIS_START_WAIT_MS / 1000} s: serving with limits from memory until it is`,
  );
}

export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  dependencies: GatewayDependencies = {},
): Promise<RunningGateway> {
  const supergraphSdl = await readSupergraph(config.supergraphPath);
  if (apolloTelemetryEnabled) logger.warn('Apollo telemetry is on (APOLLO_TELEMETRY_DISABLED is not true)');
  const parts = createParts(config, logger);
  const started = await startApollo(config, logger, supergraphSdl, parts);
  const { apollo, release } = started;
  await startWithSharedLimits(parts.limits, logger);
  let ready = true;
  const verifyToken = dependencies.verifyToken ?? createRemoteTokenVerifier(config.jwksUrl);
  const subscriptions: Subscriptions = createSubscriptions({
    executor: started.executor,
    formatError: createGatewayErrorFormatter(logger),
    schema: started.apiSchema,
    nats: started.nats,
    namespace: config.natsNamespace,
    verifyToken,
    rateLimiter: parts.limits.rateLimiter,
    metrics: parts.metrics,
    logger,
    trustedProxyHops: config.trustedProxyHops,
    maxQueryBytes: config.queryLimits.maxQueryBytes,
    queryLimits: config.queryLimits,
    production: config.production,
    settings: config.subscriptions,
  });
  const graphql = graphqlHandler(config, logger, apollo, verifyToken, parts);
  const httpServer = createHttpServer({
    logger,
    metrics: parts.metrics,
    readiness: readinessChecks(() => ready, started.nats, parts.breakers),
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

function createParts(config: GatewayConfig, logger: Logger): GatewayParts {
  const metrics = createMetrics(config.service);
  const gatewayMetrics = createGatewayMetrics(metrics);
  const breakers = createSubgraphBreakers(gatewayMetrics, logger);
  const limits = createLimits(
    { rateLimit: config.rateLimit, loginThrottle: config.loginThrottle, store: config.limitsStore },
    logger,
    {
      onLimited: () => gatewayMetrics.rateLimited.inc(),
      onFallback: (limiter) => gatewayMetrics.limitsFallbacks.inc({ limiter }),
    },
  );
  return { metrics, gatewayMetrics, breakers, limits };
}

/** Connects NATS and starts Apollo on the supergraph; on failure releases what it opened. */
async function startApollo(
  config: GatewayConfig,
  logger: Logger,
  supergraphSdl: string,
  parts: GatewayParts,
): Promise<StartedApollo> {
  let nats: NatsConnection | undefined;
  let apollo: ApolloServer<GatewayContext> | undefined;
  let executor: ApolloGateway['executor'] | undefined;
  let apiSchema: GraphQLSchema | undefined;
  let closeSubgraphs = async () => {};
  let started = false;

  const release = async () => {
    await parts.limits.close();
    if (started)
      await apollo?.stop().catch((err: unknown) => logger.error({ err }, 'stopping Apollo failed'));
    await closeSubgraphs();
    await nats?.drain().catch(() => undefined);
  };

  try {
    nats = await connectNats(config.natsServers, config.service, logger, config.natsCredentials);
    const routing = createSubgraphRouting(config, logger, parts.gatewayMetrics, parts.breakers);
    closeSubgraphs = routing.close;
    const plans = createPlanOnce();
    const gateway = new ApolloGateway({
      supergraphSdl,
      experimental_didResolveQueryPlan: plans.didResolveQueryPlan,
      experimental_approximateQueryPlanStoreMiB: config.cacheMiB,
      logger: logger.child({ component: 'apollo-gateway' }),
      buildService: routing.buildService,
    });
    // Subscriptions validate the client's operation against the supergraph's API schema.
    gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => (apiSchema = schema));
    executor = reportIncompleteAnswers(plans.wrap(gateway.executor));
    apollo = createApollo(config, logger, withExecutor(gateway, executor), parts);
    await apollo.start();
    started = true;
    warnUnrouted(config, routing, logger);
  } catch (err) {
    await release();
    throw err;
  }
  return { apollo, executor: executor!, nats, apiSchema: () => apiSchema, release };
}

function createApollo(
  config: GatewayConfig,
  logger: Logger,
  gateway: GatewayInterface,
  { metrics, gatewayMetrics, limits }: GatewayParts,
): ApolloServer<GatewayContext> {
  return new ApolloServer<GatewayContext>({
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
      loginThrottlePlugin<GatewayContext>(limits.loginThrottle, () => gatewayMetrics.rateLimited.inc()),
      subgraphUnavailablePlugin<GatewayContext>(),
    ],
  });
}

function readinessChecks(
  isReady: () => boolean,
  nats: NatsConnection,
  breakers: SubgraphBreakers,
): ReadinessCheck[] {
  return [
    {
      name: 'supergraph',
      check: async () => {
        if (!isReady()) throw new Error('the gateway is stopping');
      },
    },
    natsReadiness(nats),
    // Always passes: the gateway answers what it can while a breaker is open; shows each state.
    breakers.readiness,
  ];
}

/** GraphQL over HTTP: CORS, the request log, the caller's identity and limits in the context. */
function graphqlHandler(
  config: GatewayConfig,
  logger: Logger,
  apollo: ApolloServer<GatewayContext>,
  verifyToken: TokenVerifier,
  { gatewayMetrics, limits }: GatewayParts,
): RequestHandler {
  return withCors(
    config.corsOrigins,
    withRequestLog(
      createApolloHandler(
        apollo,
        // The login throttle keys by the client's address, which it finds in the context.
        withClientAddress(
          createContextFactory({
            verifyToken,
            rateLimiter: limits.rateLimiter,
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
}
