// Live order subscriptions served by the gateway itself (@apollo/gateway cannot execute
// subscriptions): one engine, two transports (graphql-ws on /graphql, graphql-sse on
// /graphql/stream). Each event runs the client's selection as a query through this gateway's
// own executor, as the subscriber, so any field of the supergraph can be selected.
import type { Server } from 'node:http';
import type { ApolloGateway } from '@apollo/gateway';
import type { QueryLimits } from '../limits/query-limits.ts';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { TokenVerifier } from '../../../shared/auth/identity.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { NatsConnection } from '../../../shared/messaging/nats.ts';
import type { Metrics } from '../../../shared/observability/metrics.ts';
import type { RateLimiter } from '../limits/rate-limit.ts';
import { CompiledSubscriptions } from './compiled-cache.ts';
import { SubscriptionEngine } from './engine.ts';
import { createInternalExecute } from './internal-execute.ts';
import { createSubscriptionMetrics } from './metrics.ts';
import { resumeBatchSize } from './resume-read.ts';
import { SubscriptionQuota } from './quota.ts';
import { createSseHandler, SSE_PATH } from './sse.ts';
import { attachWebSocket, type WebSocketEndpoint } from './websocket.ts';
import type { RequestHandler } from '../../../shared/http/server.ts';

export { SSE_PATH };

export interface SubscriptionSettings {
  /** Events queued for one subscriber before it is dropped as too slow. */
  readonly maxQueuedEvents: number;
  /** Bytes buffered on one subscriber's socket before it is dropped as too slow. */
  readonly maxBufferedBytes: number;
  /** WebSocket ping interval. */
  readonly keepAliveMs: number;
  /** A WebSocket that has not sent connection_init by then is closed. */
  readonly connectionInitTimeoutMs: number;
  /** An anonymous WebSocket (which cannot subscribe) is closed after this long. */
  readonly anonymousIdleMs: number;
  /** Live subscriptions one user may hold on this gateway, WebSocket and SSE together. */
  readonly maxPerUser: number;
  /** Live subscriptions one WebSocket may carry. */
  readonly maxPerConnection: number;
  /** WebSockets one client address may hold open on this gateway. */
  readonly maxConnectionsPerAddress: number;
  /** How old a group's current state may be and still start a newcomer (0: always read anew). */
  readonly firstStateMaxAgeMs: number;
}

export interface SubscriptionOptions {
  /** The gateway's executor, which runs the engine's queries (internal-execute.ts). */
  readonly executor: ApolloGateway['executor'];
  /** Apollo Server's formatError, which shapes those queries' errors too. */
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly schema: () => GraphQLSchema | undefined;
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly verifyToken: TokenVerifier;
  readonly rateLimiter: RateLimiter;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly trustedProxyHops: number;
  readonly maxQueryBytes: number;
  /** The same limits as queries over HTTP (checked before the subscription is parsed). */
  readonly queryLimits: QueryLimits;
  readonly production: boolean;
  readonly settings: SubscriptionSettings;
}

export interface Subscriptions {
  /** The graphql-sse handler, for SSE_PATH. */
  readonly sseHandler: RequestHandler;
  readonly engine: SubscriptionEngine;
  /** graphql-ws on the server's upgrades for these paths. */
  attach(httpServer: Server, paths: readonly string[]): void;
  /** Refuses new subscriptions, closes sockets (1001) and streams, leaves NATS. */
  close(): Promise<void>;
}

export function createSubscriptions(options: SubscriptionOptions): Subscriptions {
  const logger = options.logger.child({ component: 'subscriptions' });
  const execute = createInternalExecute({
    executor: options.executor,
    schema: options.schema,
    formatError: options.formatError,
    logger,
  });
  const engine = new SubscriptionEngine({
    nats: options.nats,
    namespace: options.namespace,
    execute,
    logger,
    metrics: createSubscriptionMetrics(options.metrics),
    maxQueuedEvents: options.settings.maxQueuedEvents,
    maxBufferedBytes: options.settings.maxBufferedBytes,
    firstStateMaxAgeMs: options.settings.firstStateMaxAgeMs,
    resumeBatchSize: resumeBatchSize(options.queryLimits),
  });
  // Events published while NATS was away are lost to core subscriptions: catch up by reading.
  let watching = true;
  void (async () => {
    for await (const status of options.nats.status()) {
      if (!watching) break;
      if (status.type === 'reconnect') await engine.resync();
    }
  })().catch(() => undefined);

  const open = {
    engine,
    schema: options.schema,
    rateLimiter: options.rateLimiter,
    compiled: new CompiledSubscriptions(options.queryLimits),
    logger,
    quota: new SubscriptionQuota(options.settings),
  };
  let ws: WebSocketEndpoint | undefined;
  return {
    engine,
    sseHandler: createSseHandler({
      ...open,
      verifyToken: options.verifyToken,
      trustedProxyHops: options.trustedProxyHops,
    }),
    attach(httpServer, paths) {
      ws = attachWebSocket(httpServer, {
        ...open,
        verifyToken: options.verifyToken,
        paths,
        trustedProxyHops: options.trustedProxyHops,
        keepAliveMs: options.settings.keepAliveMs,
        maxPayloadBytes: options.maxQueryBytes + 64 * 1024,
        production: options.production,
        connectionInitTimeoutMs: options.settings.connectionInitTimeoutMs,
        anonymousIdleMs: options.settings.anonymousIdleMs,
        maxBufferedBytes: options.settings.maxBufferedBytes,
        maxConnectionsPerAddress: options.settings.maxConnectionsPerAddress,
      });
    },
    async close() {
      watching = false;
      engine.close();
      await ws?.close();
    },
  };
}
