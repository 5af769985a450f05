// What every subgraph's server.ts would otherwise repeat: open its database (created and
// migrated), connect NATS, run its outbox relay and consumers, apply its permissions to its
// schema, and serve it — undoing what was opened if any step fails. A subgraph's own
// server.ts only says what is particular to it (`setup`).
import { buildSubgraphSchema, type GraphQLSchemaModule } from '@apollo/subgraph';
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { SubgraphConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { openDatabase, type DatabaseOptions, type MikroORM } from '../db/database.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { connectNats, type NatsConnection } from '../messaging/nats.ts';
import {
  createMessagingWorkers,
  createPublishing,
  type MessagingOptions,
} from '../messaging/service-messaging.ts';
import type { CommitPublisher } from '../messaging/commit-publisher.ts';
import { applyPermissions, type RuleTree } from '../auth/shield.ts';
import { createRemoteTokenVerifier, type TokenVerifier } from '../auth/identity.ts';
import { createServiceHeaders, type ServiceHeaders } from '../auth/service-identity.ts';
import type { RequestHandler } from '../http/server.ts';
import {
  startSubgraphService,
  type BaseContext,
  type ContextParts,
  type RunningService,
  type Worker,
} from './subgraph-service.ts';

export interface SubgraphParts {
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  readonly metrics: Metrics;
  /** Headers that name this subgraph to another service it calls (its service token). */
  readonly serviceHeaders: ServiceHeaders;
  /**
   * Publishes a transaction's outbox rows right after its commit (see publish-after-commit.ts);
   * absent when the subgraph runs no messaging, whose rows then wait for a relay elsewhere.
   */
  readonly publisher?: CommitPublisher;
}

export interface SubgraphSetup<C extends BaseContext> {
  /** The per-request parts (DataLoaders, settings) added to the base context; not the base itself. */
  readonly extendContext: (base: BaseContext) => ContextParts<C>;
  /** Default: tokens verified against the users subgraph's JWKS. */
  readonly verifyToken?: TokenVerifier;
  /** The JetStream consumers this subgraph runs, with their handlers. */
  readonly consumers?: MessagingOptions['consumers'];
  readonly workers?: readonly Worker[];
  readonly routes?: Readonly<Record<string, RequestHandler>>;
}

/** What a caller of a subgraph's start function may choose. */
export interface SubgraphOptions {
  /**
   * Run the outbox relay and the consumers (default true). Off, the subgraph only serves
   * GraphQL: for a subgraph that sends no messages, or tests that read its outbox themselves.
   */
  readonly messaging?: boolean;
}

export interface SubgraphDefinition<C extends BaseContext> extends SubgraphOptions {
  readonly config: SubgraphConfig;
  readonly logger: Logger;
  /** The subgraph's schema file (schema first: one file per subgraph). */
  readonly schemaFile: URL;
  /**
   * The subgraph's resolvers, typed where they are written by the `Resolvers` type generated
   * from its schema (subgraphs/<name>/src/generated/graphql.ts, see codegen.ts).
   */
  readonly resolvers: GraphQLSchemaModule['resolvers'];
  readonly permissions: RuleTree;
  readonly entities: DatabaseOptions['entities'];
  readonly migrations: DatabaseOptions['migrations'];
  readonly poolSize?: number;
  /** Use the pipelined PostgreSQL client (see DatabaseOptions.pipelined). */
  readonly pipelined?: boolean;
  /** Runs once the database and NATS are open, before the subgraph serves. */
  setup(parts: SubgraphParts): Promise<SubgraphSetup<C>> | SubgraphSetup<C>;
}

export async function startSubgraph<C extends BaseContext>(
  definition: SubgraphDefinition<C>,
): Promise<RunningService> {
  const { config, logger } = definition;
  const metrics = createMetrics(config.service);
  const orm = await openDatabase({
    serverUrl: config.databaseUrl,
    databaseName: config.databaseName,
    entities: definition.entities,
    migrations: definition.migrations,
    logger,
    poolSize: config.databasePoolSize ?? definition.poolSize,
    pipelined: definition.pipelined,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    migrationWaitMs: config.databaseMigrationWaitMs,
    migrationLockTimeoutMs: config.databaseMigrationLockTimeoutMs,
    onQuery: (source) => metrics.sqlQueries.inc({ source }),
  });
  let nats: NatsConnection | undefined;
  try {
    nats = await connectNats(config.natsServers, config.service, logger, config.natsCredentials);
    const serviceHeaders = createServiceHeaders(config.serviceSecret, config.service);
    const publishing =
      definition.messaging === false ? undefined : createPublishing({ config, nats, logger, metrics });
    const setup = await definition.setup({
      orm,
      nats,
      metrics,
      serviceHeaders,
      publisher: publishing?.publisher,
    });
    const messaging = publishing
      ? await createMessagingWorkers({
          config,
          orm,
          nats,
          logger,
          metrics,
          consumers: setup.consumers ?? {},
          publishing,
        })
      : [];
    const schema = applyPermissions(
      buildSubgraphSchema([
        {
          typeDefs: parse(readFileSync(definition.schemaFile, 'utf8')),
          resolvers: definition.resolvers,
        },
      ]),
      definition.permissions,
    );
    return await startSubgraphService<C>({
      config,
      logger,
      metrics,
      schema,
      orm,
      nats,
      verifyToken: setup.verifyToken ?? createRemoteTokenVerifier(config.jwksUrl),
      extendContext: setup.extendContext,
      routes: setup.routes,
      workers: [...messaging, ...(setup.workers ?? [])],
    });
  } catch (err) {
    await nats?.close().catch(() => undefined);
    await orm.close(true);
    throw err;
  }
}
