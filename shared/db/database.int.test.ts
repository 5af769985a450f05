// openDatabase (through test/support's messaging database) against a real PostgreSQL, and against
// a server that accepts connections and never answers: what DATABASE_URL says reaches every
// connection, and a start never hangs.
import { afterAll, describe, expect, it } from '@jest/globals';
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
