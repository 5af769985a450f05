// Everything a subgraph process has in common: its database, NATS, the GraphQL endpoint with
// identity and error masking, health, metrics, background workers, and a shutdown that drains
// HTTP first, then workers, then closes NATS and the database.
import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { GraphQLSchema } from 'graphql';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SubgraphConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { databaseAnswers, withQuerySource, type MikroORM } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { Metrics } from '../observability/metrics.ts';
import { activeTraceId, traceIdOf, withServerSpan } from '../observability/tracing.ts';
import { createApolloHandler, type ContextFactory } from '../http/apollo-handler.ts';
import { refuseUnread } from '../http/body.ts';
import {
  closeServer,
  createHttpServer,
  listen,
  type ReadinessCheck,
  type RequestHandler,
} from '../http/server.ts';
import { identify, type Identity, type TokenVerifier } from '../auth/identity.ts';
import {
  createServiceTokenVerifier,
  identifyService,
  type ServiceCaller,
  type ServiceTokenVerifier,
} from '../auth/service-identity.ts';
import { natsReadiness, type NatsConnection } from '../messaging/nats.ts';
import { createErrorFormatter, toRequestError } from '../graphql/format-error.ts';
import { AppError } from '../errors.ts';
import { operationMetricsPlugin } from '../graphql/operation-metrics.ts';
import { readQueryLimits, subgraphQueryLimits } from '../graphql/limits/config.ts';
import { checkGraphQLRequest } from '../graphql/limits/http-request.ts';
import type { QueryLimits } from '../graphql/limits/limits.ts';
import { hardenedApolloOptions, queryLimitsPlugin } from '../graphql/limits/plugin.ts';

/** What every resolver of every subgraph gets. */
export interface BaseContext {
  /** On whose behalf: the user of the verified bearer token, if any. */
  readonly identity: Identity | null;
  /** Who is calling: the verified service (null only when no SERVICE_SECRET is configured). */
  readonly caller: ServiceCaller | null;
  /** A fresh EntityManager for this request only (forked when first used). */
  readonly em: EntityManager;
  readonly logger: Logger;
  readonly requestId: string;
}

/** What a subgraph adds to the base context of each request (DataLoaders, settings). */
export type ContextParts<C extends BaseContext> = Omit<C, keyof BaseContext>;

/** Where a request's lazily made parts live; a symbol, so resolvers see only BaseContext's names. */
const lazyParts = Symbol('lazy request parts');

interface LazyParts {
  em?: EntityManager;
  logger?: Logger;
  readonly orm: MikroORM;
  readonly rootLogger: Logger;
  readonly traceId: string | undefined;
}

/**
 * The base context of one request. Its EntityManager fork and its logger child are made when a
 * resolver first asks for them: most reads go through typed stores and log nothing, and both
 * showed in the profile of a one-order query as work done for every request.
 *
 * Apollo Server copies the context for every operation it runs (`Object.assign` onto a new
 * object with the same prototype), which would call getters of the object's own (and so make
 * the parts at once), and does not carry private fields. So the getters live on the prototype
 * and the parts in one holder that the copy shares.
 */
class RequestBase implements BaseContext {
  readonly identity: Identity | null;
  readonly caller: ServiceCaller | null;
  readonly requestId: string;
  readonly [lazyParts]: LazyParts;

  constructor(
    orm: MikroORM,
    rootLogger: Logger,
    request: { identity: Identity | null; caller: ServiceCaller | null; requestId: string; traceId?: string },
  ) {
    this.identity = request.identity;
    this.caller = request.caller;
    this.requestId = request.requestId;
    this[lazyParts] = { orm, rootLogger, traceId: request.traceId };
  }

  get em(): EntityManager {
    const parts = this[lazyParts];
    // From the global EntityManager, which no request context (MikroORM's RequestContext,
    // unused here) could replace: skipping that lookup gives the same fork for less.
    return (parts.em ??= parts.orm.em.fork({ disableContextResolution: true }));
  }

  get logger(): Logger {
    const parts = this[lazyParts];
    return (parts.logger ??= parts.rootLogger.child({
      requestId: this.requestId,
      traceId: parts.traceId,
      userId: this.identity?.userId,
    }));
  }
}

/** A loop that runs beside the HTTP server (outbox relay, consumers, timers). */
export interface Worker {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void>;
  /** What /health/ready asks of it, if anything: e.g. a consumer that has not pulled for long. */
  readonly readiness?: ReadinessCheck;
}

export interface SubgraphServiceOptions<C extends BaseContext> {
  readonly config: SubgraphConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly schema: GraphQLSchema;
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  readonly verifyToken: TokenVerifier;
  /**
   * The per-request parts (e.g. DataLoaders) added to the base context. Return only the parts:
   * spreading `base` into them would copy its lazy members' values, making them at once.
   */
  readonly extendContext: (base: BaseContext) => ContextParts<C>;
  readonly routes?: Readonly<Record<string, RequestHandler>>;
  readonly workers?: readonly Worker[];
  /** Default: the gateway's limits from the environment, widened for planned queries. */
  readonly queryLimits?: QueryLimits;
}

export interface RunningService {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startSubgraphService<C extends BaseContext>(
  options: SubgraphServiceOptions<C>,
): Promise<RunningService> {
  const { config, logger, metrics, orm, nats, schema } = options;
  // Defence in depth: a subgraph bounds what it runs itself, should anyone reach it directly.
  const queryLimits = options.queryLimits ?? subgraphQueryLimits(readQueryLimits(process.env));
  const apollo = createSubgraphApollo<C>(schema, logger, metrics, queryLimits, config.production);
  await apollo.start();

  const serviceVerifier = config.serviceSecret
    ? createServiceTokenVerifier(config.serviceSecret, config.service)
    : undefined;
  const callers = new WeakMap<IncomingMessage, ServiceCaller>();

  const context: ContextFactory<C> = async (req, read) => {
    const request = await read();
    const requestId = headerValue(req, 'x-request-id') ?? randomUUID();
    try {
      checkGraphQLRequest(request, queryLimits);
    } catch (err) {
      throw err instanceof AppError ? toRequestError(err) : err;
    }
    const identity = await identify(req.headers, options.verifyToken).catch((err: unknown) => {
      throw err instanceof AppError ? toRequestError(err) : err;
    });
    const base = new RequestBase(orm, logger, {
      identity,
      caller: callers.get(req) ?? null,
      requestId,
      traceId: activeTraceId() ?? traceIdOf(req.headers.traceparent),
    });
    // BaseContext plus the rest of C's members is a C; TypeScript cannot see it for a generic C.
    return Object.assign(base, options.extendContext(base)) as BaseContext as C;
  };

  const workers = options.workers ?? [];
  const server: Server = createHttpServer({
    logger,
    metrics,
    metricsToken: config.metricsToken,
    readiness: [...subgraphReadiness(orm, nats), ...workers.flatMap((w) => w.readiness ?? [])],
    // Each request in a server span that continues the gateway's traceparent.
    routes: {
      '/graphql': withServerSpan(
        onlyServices(serviceVerifier, callers, createApolloHandler(apollo, context)),
      ),
      ...options.routes,
    },
  });

  // Started as background work: their SQL is never counted as a client's request.
  for (const worker of workers) await withQuerySource('background', () => worker.start());
  const port = await listen(server, config.port, config.host);
  logger.info({ port }, `${config.service} subgraph ready at http://localhost:${port}/graphql`);

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}/graphql`,
    stop: () =>
      (stopping ??= (async () => {
        await closeServer(server);
        await apollo.stop();
        for (const worker of [...workers].reverse()) await worker.stop();
        await nats.drain().catch(() => undefined);
        await orm.close();
        logger.info(`${config.service} stopped`);
      })()),
  };
}

/** The subgraph's Apollo Server: hardened, bounded, without the features nobody here uses. */
function createSubgraphApollo<C extends BaseContext>(
  schema: GraphQLSchema,
  logger: Logger,
  metrics: Metrics,
  queryLimits: QueryLimits,
  production: boolean,
): ApolloServer<C> {
  return new ApolloServer<C>({
    schema,
    formatError: createErrorFormatter(logger, { isUnavailable: isDatabaseUnavailable }),
    includeStacktraceInErrorResponses: false,
    ...hardenedApolloOptions(queryLimits, production),
    // The gateway never sends persisted-query hashes; a cache of them would only serve others.
    persistedQueries: false,
    // The process entry owns signals and stops everything in order (shared/process.ts);
    // Apollo's own handlers would race it and stall the shutdown.
    stopOnTerminationSignals: false,
    // Subgraphs are reached through the gateway; their own landing page would only invite
    // people to bypass its limits. Inline traces are for Apollo Studio, which we do not phone.
    // Cache control is on by default and wraps every field resolver to collect `@cacheControl`
    // hints; no schema here declares any and the gateway reads none, so it only cost time.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      queryLimitsPlugin(queryLimits),
      operationMetricsPlugin(metrics),
    ],
  });
}

/** What /health/ready checks besides the workers: the database answers and the NATS connection is up. */
function subgraphReadiness(orm: MikroORM, nats: NatsConnection): ReadinessCheck[] {
  return [
    {
      name: 'database',
      // Bounded by the pool's connect timeout and the probe's own; the cause is not shown, as
      // pg's words name the database's host and port.
      check: () =>
        withQuerySource('health', async () => {
          try {
            await databaseAnswers(orm);
          } catch (err) {
            throw new Error(isDatabaseUnavailable(err) ? 'unreachable' : 'failing', { cause: err });
          }
        }),
    },
    natsReadiness(nats),
  ];
}

/**
 * Refuses a GraphQL request that does not carry a valid service token (when a secret is
 * configured), before its body is read: only the gateway and the other services may call a
 * subgraph. Health, metrics and the JWKS are other routes and stay open.
 */
function onlyServices(
  verify: ServiceTokenVerifier | undefined,
  callers: WeakMap<IncomingMessage, ServiceCaller>,
  handler: RequestHandler,
): RequestHandler {
  if (!verify) return handler;
  return async (req, res) => {
    let caller: ServiceCaller | null;
    try {
      caller = await identifyService(req.headers, verify);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      refuseUnread(req, res, 401, err.code, err.message);
      return;
    }
    if (caller) callers.set(req, caller);
    return handler(req, res);
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first && /^[\w.:-]{1,128}$/.test(first) ? first : undefined;
}
