// Each subgraph owns one database on the shared PostgreSQL server. It is created when missing
// and migrated at start, so a fresh server needs no set-up.
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { connectClient, connectionOptions } from './connection-options.ts';
import { coalescingSocket } from './coalescing-socket.ts';
import { PipelinedClient } from './pipelined-client.ts';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';
import { Migrator, type Migration } from '@mikro-orm/migrations';
import type { Logger } from '../logger.ts';
import {
  DEFAULT_DATABASE_CONNECT_TIMEOUT_MS,
  DEFAULT_DATABASE_MIGRATION_LOCK_TIMEOUT_MS,
  DEFAULT_DATABASE_MIGRATION_WAIT_MS,
} from '../config.ts';
import { migrate } from './migrations.ts';

export type { MikroORM };

export const DEFAULT_CONNECT_TIMEOUT_MS = DEFAULT_DATABASE_CONNECT_TIMEOUT_MS;

export interface MigrationEntry {
  readonly name: string;
  readonly class: new (...args: any[]) => Migration; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface DatabaseOptions {
  /** A server URL; its database is only used to create ours. */
  readonly serverUrl: string;
  readonly databaseName: string;
  readonly entities: NonNullable<Options['entities']>;
  readonly migrations: readonly MigrationEntry[];
  readonly logger: Logger;
  readonly poolSize?: number;
  /**
   * Opening a connection, or waiting for a free one, fails after this (default 5 s), so a
   * database that cannot be reached fails requests at once instead of holding them.
   */
  readonly connectTimeoutMs?: number;
  /** How long to wait for another instance's migrations (default 5 min; see migrations.ts). */
  readonly migrationWaitMs?: number;
  /** How long a migration statement may wait for a table lock (default 10 s). */
  readonly migrationLockTimeoutMs?: number;
  /**
   * Called once per SQL statement sent (feeds the `sql_queries_total` metric), with the
   * `source` of the EntityManager that sent it: forks made with `backgroundFork` say
   * 'background', so the outbox relay's polling does not blur what requests cost.
   */
  readonly onQuery?: (source: string) => void;
  /**
   * Connect with the pipelined client (pipelined-client.ts): for services whose message handlers
   * run short transactions of statements nobody waits for (the saga's). Others keep pg's own
   * client, which waits for every statement and prepares none.
   */
  readonly pipelined?: boolean;
}

class QueryCountingLogger extends DefaultLogger {
  private readonly appLogger: Logger;
  private readonly onQuery: ((source: string) => void) | undefined;
  constructor(options: LoggerOptions, appLogger: Logger, onQuery: ((source: string) => void) | undefined) {
    super({ ...options, writer: (message) => appLogger.debug({ orm: message }) });
    this.appLogger = appLogger;
    this.onQuery = onQuery;
  }
  override logQuery(context: { query: string } & LogContext): void {
    this.onQuery?.(
      typeof context.source === 'string' ? context.source : (querySource.getStore() ?? 'request'),
    );
    if (this.appLogger.isLevelEnabled('debug')) super.logQuery(context);
  }
}

// MikroORM passes an EntityManager's `loggerContext` on with the queries it builds, but not with
// raw `em.execute()` statements, nor with every BEGIN/COMMIT: those arrived without a source and
// were counted as 'request', so an idle process's relay polling inflated the request figure.
// Work that is not a client's request therefore also runs inside `withQuerySource`, whose
// source reaches every statement sent from that async context (loops, timers, callbacks).
const querySource = new AsyncLocalStorage<string>();

/**
 * Runs `fn`, and everything it starts (loops, timers, subscriptions), with its SQL statements
 * counted under `source` unless a statement names its own.
 */
export function withQuerySource<T>(source: string, fn: () => T): T {
  return querySource.run(source, fn);
}

/**
 * Options for every transaction of work that is not a client's request (consumers, the saga's
 * timeouts, notifications' delivery), begun on the global EntityManager
 * (`orm.em.transactional(work, BACKGROUND_TRANSACTION)`): the transaction's own fork is the only
 * one, with the source `background` (as backgroundFork's below), which BEGIN and COMMIT carry
 * too. A backgroundFork to begin it on would be a second fork per transaction, merged back into
 * at the end, and every fork costs MikroORM two configuration writes (each of which sets
 * `process.env`): per consumer batch, that showed in the saga's profiles.
 */
export const BACKGROUND_TRANSACTION = { loggerContext: { source: 'background' } } as const;

/** A fork for work that is not a client's request and needs no transaction (probes, reads, timers). */
export function backgroundFork(orm: MikroORM) {
  return orm.em.fork(BACKGROUND_TRANSACTION);
}

/** Whether the database answers a trivial statement (health checks, probes). */
export async function databaseAnswers(orm: MikroORM): Promise<void> {
  await orm.em.getConnection().execute('select 1');
}

export function databaseUrl(serverUrl: string, databaseName: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

/** CREATE DATABASE is not transactional and has no IF NOT EXISTS: tolerate a racing twin. */
export async function ensureDatabase(
  serverUrl: string,
  databaseName: string,
  connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
): Promise<void> {
  const client = new pg.Client(connectionOptions(serverUrl, connectTimeoutMs));
  await connectClient(client, serverUrl, connectTimeoutMs);
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [databaseName]);
    if (found.rowCount) return;
    try {
      await client.query(`create database "${databaseName.replaceAll('"', '""')}"`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      // 42P04 duplicate_database; 23505 when two creators race on the catalogue's unique index.
      if (code !== '42P04' && code !== '23505') throw err;
    }
  } finally {
    await client.end();
  }
}

export async function openDatabase(options: DatabaseOptions): Promise<MikroORM> {
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const url = databaseUrl(options.serverUrl, options.databaseName);
  await ensureDatabase(options.serverUrl, options.databaseName, connectTimeoutMs);
  const orm = await MikroORM.init({
    clientUrl: url,
    entities: options.entities,
    extensions: [Migrator],
    pool: { min: 1, max: options.poolSize ?? 10 },
    // One write per statement instead of one per protocol message (see coalescing-socket.ts),
    // and, where asked for, statements nobody waits for ride with the next one (see
    // pipelined-client.ts).
    driverOptions: {
      stream: coalescingSocket,
      Client: options.pipelined ? PipelinedClient : pg.Client,
      // MikroORM passes the pool only the URL's server, user, password and database: the
      // connection string brings the rest of it (sslmode, application_name, options, ...). The
      // connect timeout also bounds the wait for the pool to free a connection; a peer that
      // vanished without closing the connection is noticed by TCP keep-alive.
      ...connectionOptions(url, connectTimeoutMs),
    },
    migrations: {
      migrationsList: options.migrations.map((m) => ({ name: m.name, class: m.class })),
      transactional: true,
      allOrNothing: true,
      silent: true,
      // Migrations are written by hand and checked in; no schema snapshot files.
      snapshot: false,
    },
    // Queries are counted (a metric that shows N+1 problems) and logged at debug level only.
    debug: ['query'],
    loggerFactory: (loggerOptions) => new QueryCountingLogger(loggerOptions, options.logger, options.onQuery),
    // Every request forks its own EntityManager; the global one must never be used by mistake.
    allowGlobalContext: false,
  });
  try {
    await withQuerySource('startup', () =>
      migrate(orm, {
        url,
        databaseName: options.databaseName,
        connectTimeoutMs,
        waitMs: options.migrationWaitMs ?? DEFAULT_DATABASE_MIGRATION_WAIT_MS,
        lockTimeoutMs: options.migrationLockTimeoutMs ?? DEFAULT_DATABASE_MIGRATION_LOCK_TIMEOUT_MS,
        logger: options.logger,
      }),
    );
  } catch (err) {
    await orm.close(true);
    throw err;
  }
  return orm;
}
