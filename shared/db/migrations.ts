// A service's migrations at start. Several instances may start at once: one migrates while the
// others wait, on a session advisory lock held on a connection of its own (so the pool cannot
// hand it to someone else). The wait is not silent and not endless: whoever holds the lock is
// named, and a wait past DATABASE_MIGRATION_WAIT_MS (an instance stuck mid-migration, or a
// session left behind holding the lock) fails the start with what to look at. A migration
// statement that waits for a table lock (a long transaction of a running instance) gives up
// after DATABASE_MIGRATION_LOCK_TIMEOUT_MS, rolling every migration of this start back, rather
// than queueing every other statement on that table behind it.
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logger.ts';
import { connectClient, connectionOptions } from './connection-options.ts';

const MIGRATION_LOCK_KEY = 7_263_101;
/** While waiting for the lock: one line when the wait starts, then a warning at most this often. */
export const MIGRATION_WAIT_WARN_EVERY_MS = 30_000;
/** Pauses between two tries at the lock: from the first, doubling to the last. */
const FIRST_PAUSE_MS = 50;
const LAST_PAUSE_MS = 1000;

export interface MigrationSettings {
  /** The service's own database (its URL). */
  readonly url: string;
  readonly databaseName: string;
  readonly connectTimeoutMs: number;
  /** How long to wait for another instance's migrations before giving up. */
  readonly waitMs: number;
  /** How long one migration statement may wait for a table lock. */
  readonly lockTimeoutMs: number;
  readonly logger: Logger;
  /** Default MIGRATION_WAIT_WARN_EVERY_MS. */
  readonly warnEveryMs?: number;
}

/** Runs `orm`'s pending migrations, once the lock is this process's. */
export async function migrate(orm: MikroORM, settings: MigrationSettings): Promise<void> {
  const lock = new pg.Client({
    // Named, so that an instance waiting for this one can say whom it waits for (unless
    // DATABASE_URL names every connection itself).
    application_name: `migrations ${os.hostname()} pid ${process.pid}`,
    ...connectionOptions(settings.url, settings.connectTimeoutMs),
  });
  try {
    await connectClient(lock, settings.url, settings.connectTimeoutMs);
    await takeLock(lock, settings);
    await runMigrations(orm, settings);
  } finally {
    await lock.end().catch(() => undefined);
  }
}

async function takeLock(lock: pg.Client, settings: MigrationSettings): Promise<void> {
  const { logger, databaseName } = settings;
  const warnEveryMs = settings.warnEveryMs ?? MIGRATION_WAIT_WARN_EVERY_MS;
  const started = Date.now();
  let pause = FIRST_PAUSE_MS;
  let saidAt: number | undefined;
  for (;;) {
    const { rows } = await lock.query<{ taken: boolean }>('select pg_try_advisory_lock($1) as taken', [
      MIGRATION_LOCK_KEY,
    ]);
    const waited = Date.now() - started;
    if (rows[0]!.taken) {
      if (saidAt !== undefined) logger.info({ databaseName, waitedMs: waited }, 'migration lock taken');
      return;
    }
    const holder = await lockHolder(lock);
    if (waited >= settings.waitMs) {
      throw new Error(
        `gave up after ${settings.waitMs} ms (DATABASE_MIGRATION_WAIT_MS) waiting for another instance's migrations of ${databaseName}: ` +
          `the migration lock is held by ${holder.text}.` +
          (holder.pid
            ? ` If that session is stuck, select pg_terminate_backend(${holder.pid}) ends it and frees the lock`
            : ''),
      );
    }
    if (saidAt === undefined || Date.now() - saidAt >= warnEveryMs) {
      const first = saidAt === undefined;
      saidAt = Date.now();
      const line = `waiting for another instance's migrations of ${databaseName}: the lock is held by ${holder.text}`;
      if (first) logger.info({ databaseName }, line);
      else logger.warn({ databaseName, waitedMs: waited }, `${line} (${Math.round(waited / 1000)} s so far)`);
    }
    await delay(Math.min(pause, Math.max(settings.waitMs - waited, 1)));
    pause = Math.min(pause * 2, LAST_PAUSE_MS);
  }
}

interface Holder {
  pid: number;
  application_name: string | null;
  client_addr: string | null;
  backend_start: Date | null;
  state: string | null;
  state_change: Date | null;
}

/**
 * Who holds the lock, as far as this user may see (PostgreSQL shows another user's sessions
 * without their details unless it has pg_read_all_stats).
 */
async function lockHolder(lock: pg.Client): Promise<{ pid?: number; text: string }> {
  const { rows } = await lock.query<Holder>(
    `select l.pid, a.application_name, host(a.client_addr) as client_addr, a.backend_start, a.state, a.state_change
       from pg_locks l left join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.objsubid = 1
        and l.database = (select oid from pg_database where datname = current_database())
        and l.classid::text::bigint = $1::bigint >> 32 and l.objid::text::bigint = $1::bigint & 4294967295`,
    [MIGRATION_LOCK_KEY],
  );
  const holder = rows[0];
  if (!holder) return { text: 'a session that has just let it go' };
  const parts = [
    holder.application_name ? `"${holder.application_name}"` : undefined,
    holder.client_addr ? `from ${holder.client_addr}` : undefined,
    holder.backend_start ? `connected at ${holder.backend_start.toISOString()}` : undefined,
    holder.state && holder.state_change
      ? `${holder.state} since ${holder.state_change.toISOString()}`
      : undefined,
  ].filter(Boolean);
  return { pid: holder.pid, text: `session ${holder.pid}${parts.length ? ` (${parts.join(', ')})` : ''}` };
}

/** The pending migrations in one transaction, each statement waiting at most lockTimeoutMs for a lock. */
async function runMigrations(orm: MikroORM, settings: MigrationSettings): Promise<void> {
  // First, outside the transaction: the migrator's first use (here getExecuted, the public call
  // that always initialises it) makes sure of its own table through the pool, which has no second
  // connection to give while the transaction holds one (a pool of one, as scripts/keys.ts opens,
  // would wait out its connect timeout). A start with nothing pending opens no transaction.
  await orm.migrator.getExecuted();
  if ((await orm.migrator.getPending()).length === 0) return;
  const connection = orm.em.getConnection();
  try {
    await connection.transactional(async (trx) => {
      await connection.execute(
        'select set_config(?, ?, true)',
        ['lock_timeout', `${settings.lockTimeoutMs}ms`],
        'run',
        trx,
      );
      await orm.migrator.up({ transaction: trx });
    });
  } catch (err) {
    if (!isLockTimeout(err)) throw err;
    throw new Error(
      `a migration of ${settings.databaseName} waited ${settings.lockTimeoutMs} ms (DATABASE_MIGRATION_LOCK_TIMEOUT_MS) for a table ` +
        `another session holds (a long transaction?) and gave up; no migration of this start was applied`,
      { cause: err },
    );
  }
}

/** PostgreSQL's lock_not_available (55P03), however deep MikroORM wrapped it. */
function isLockTimeout(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 5 && e; depth++, e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === '55P03') return true;
  }
  return false;
}
