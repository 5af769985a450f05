// openDatabase (through test/support's messaging database) against a real PostgreSQL, and against
// a server that accepts connections and never answers: what DATABASE_URL says reaches every
// connection, and a start never hangs; its migrations wait for another instance's, boundedly.
import { afterAll, describe, expect, it } from '@jest/globals';
import { Migration } from '@mikro-orm/migrations';
import pg from 'pg';
import { databaseUrl, ensureDatabase } from './database.ts';
import { recordLogs } from '../../test/support/log-recorder.ts';
import { openMessagingDatabase } from '../../test/support/messaging-database.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';
import { startStandIn } from '../../test/support/tcp-stand-in.ts';

const env = testEnvironment();
afterAll(() => dropTestResources(env.resources));

function options(serverUrl: string, name: string) {
  return { serverUrl, databaseName: `${env.id}_${name}`, logger: env.logger };
}

describe('openDatabase', () => {
  it('fails within its connect timeout, saying where, against a server that never answers', async () => {
    const silent = await startStandIn();
    try {
      const started = Date.now();
      const opening = openMessagingDatabase({
        ...options(`postgres://postgres:secret@127.0.0.1:${silent.port}/postgres`, 'silent'),
        connectTimeoutMs: 500,
      });
      await expect(opening).rejects.toThrow(
        new RegExp(
          `^could not connect to PostgreSQL at 127\\.0\\.0\\.1:${silent.port}: .*timeout.* \\(connect timeout 500 ms, DATABASE_CONNECT_TIMEOUT_MS\\)$`,
        ),
      );
      expect(Date.now() - started).toBeLessThan(3000);
      expect(silent.accepted).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it("passes DATABASE_URL's parameters to every connection of its pool, its options after the keep-alive ones", async () => {
    const url = new URL(env.resources.databaseUrl);
    url.searchParams.set('application_name', 'url-parameters-test');
    url.searchParams.set('options', '-c tcp_keepalives_idle=45 -c statement_timeout=7s');
    const orm = await openMessagingDatabase({ ...options(url.toString(), 'parameters'), poolSize: 3 });
    try {
      // Three at once: three connections of the pool.
      const rows = await Promise.all(
        [1, 2, 3].map(() =>
          orm.em
            .fork()
            .execute<{ name: string; idle: string; interval: string; timeout: string }[]>(
              `select current_setting('application_name') as name, current_setting('tcp_keepalives_idle') as idle,
                      current_setting('tcp_keepalives_interval') as interval, current_setting('statement_timeout') as timeout,
                      pg_sleep(0.1)::text`,
            )
            .then(([row]) => ({
              name: row!.name,
              idle: row!.idle,
              interval: row!.interval,
              timeout: row!.timeout,
            })),
        ),
      );
      expect(rows).toEqual(
        Array(3).fill({ name: 'url-parameters-test', idle: '45', interval: '10', timeout: '7s' }),
      );
    } finally {
      await orm.close(true);
    }
  });
});

/** The migration lock (migrations.ts), taken by a session of the test's own, as another instance would. */
const MIGRATION_LOCK_KEY = 7_263_101;

/** A session on the database `name` of this test, created if missing, and its server process. */
async function session(name: string): Promise<pg.Client & { pid: number }> {
  await ensureDatabase(env.resources.databaseUrl, `${env.id}_${name}`);
  const client = new pg.Client({
    connectionString: databaseUrl(env.resources.databaseUrl, `${env.id}_${name}`),
    application_name: 'another instance',
  });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return Object.assign(client, { pid: rows[0]!.pid });
}

class AddNote extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table markers add column note text');
  }
}

describe("a start's migrations", () => {
  it('run on a pool of one connection, on a new database and on a migrated one', async () => {
    const at = { ...options(env.resources.databaseUrl, 'pool_of_one'), poolSize: 1, connectTimeoutMs: 2000 };
    for (const laterMigrations of [[], [{ name: 'AddNote', class: AddNote }]]) {
      const orm = await openMessagingDatabase({ ...at, laterMigrations });
      try {
        const rows = await orm.em
          .fork()
          .execute<{ name: string }[]>('select name from mikro_orm_migrations order by id');
        expect(rows.map((row) => row.name)).toEqual(['Init', ...laterMigrations.map((m) => m.name)]);
      } finally {
        await orm.close(true);
      }
    }
  });

  it('wait while another instance holds the lock, name it, and go on once it lets go', async () => {
    const other = await session('waits');
    const log = recordLogs();
    try {
      await other.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      let opened = false;
      const opening = openMessagingDatabase({
        ...options(env.resources.databaseUrl, 'waits'),
        logger: log.logger,
      });
      void opening.then(() => (opened = true)).catch(() => undefined);
      const waiting = await log.next((line) =>
        line.msg.startsWith("waiting for another instance's migrations"),
      );
      expect(waiting.level).toBe('info');
      expect(waiting.msg).toContain(
        `of ${env.id}_waits: the lock is held by session ${other.pid} ("another instance", `,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(opened).toBe(false);

      await other.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      const orm = await opening;
      await orm.close(true);
      expect(log.lines.at(-1)?.msg).toBe('migration lock taken');
    } finally {
      await other.end();
    }
  });

  it('give up after the configured wait, naming the session that holds the lock', async () => {
    const other = await session('gives_up');
    try {
      await other.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const started = Date.now();
      const opening = openMessagingDatabase({
        ...options(env.resources.databaseUrl, 'gives_up'),
        migrationWaitMs: 1000,
      });
      await expect(opening).rejects.toThrow(
        new RegExp(
          `^gave up after 1000 ms \\(DATABASE_MIGRATION_WAIT_MS\\) waiting for another instance's migrations of ${env.id}_gives_up: ` +
            `the migration lock is held by session ${other.pid} \\("another instance", .*\\)\\. ` +
            `If that session is stuck, select pg_terminate_backend\\(${other.pid}\\) ends it and frees the lock$`,
        ),
      );
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await other.end();
    }
  });

  it('give up on a table another session holds after the lock timeout, applying none of them', async () => {
    const at = options(env.resources.databaseUrl, 'table_lock');
    await (await openMessagingDatabase(at)).close(true);
    const other = await session('table_lock');
    try {
      // A running instance's long transaction that has read the table.
      await other.query('begin');
      await other.query('select count(*) from markers');
      const started = Date.now();
      const opening = openMessagingDatabase({
        ...at,
        laterMigrations: [{ name: 'AddNote', class: AddNote }],
        migrationLockTimeoutMs: 300,
      });
      await expect(opening).rejects.toThrow(
        `a migration of ${env.id}_table_lock waited 300 ms (DATABASE_MIGRATION_LOCK_TIMEOUT_MS) for a table`,
      );
      expect(Date.now() - started).toBeLessThan(3000);
      await other.query('commit');
      const { rows } = await other.query<{ name: string }>(
        'select name from mikro_orm_migrations order by id',
      );
      expect(rows.map((row) => row.name)).toEqual(['Init']);

      const orm = await openMessagingDatabase({
        ...at,
        laterMigrations: [{ name: 'AddNote', class: AddNote }],
      });
      await orm.close(true);
      const after = await other.query<{ name: string }>('select name from mikro_orm_migrations order by id');
      expect(after.rows.map((row) => row.name)).toEqual(['Init', 'AddNote']);
    } finally {
      await other.end();
    }
  });
});
