// The pipelined client against real PostgreSQL: held statements run, in order, in the same
// message as the next statement; their errors fail that statement; a rollback drops them.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Socket } from 'node:net';
import pg from 'pg';
import { coalescingSocket } from './coalescing-socket.ts';
import { databaseUrl, ensureDatabase } from './database.ts';
import { PipelinedClient, withoutWaiting } from './pipelined-client.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';

const env = testEnvironment();
const url = databaseUrl(env.resources.databaseUrl, `${env.id}_pipelined`);
let client: PipelinedClient;
let observer: pg.Client;

beforeAll(async () => {
  await ensureDatabase(env.resources.databaseUrl, `${env.id}_pipelined`);
  observer = new pg.Client({ connectionString: url });
  await observer.connect();
  await observer.query('create table notes (id int primary key, sent_at timestamptz not null)');
  // Sequences are not transactional: a statement that ran leaves its mark after a rollback.
  await observer.query('create sequence ran');
});
afterAll(async () => {
  await observer.end();
  await dropTestResources(env.resources);
});

beforeEach(async () => {
  client = new PipelinedClient({ connectionString: url });
  await client.connect();
  await observer.query('truncate notes');
});
afterEach(async () => {
  await client.end();
});

// statement_timestamp() is when the server received the message a statement came in, so two
// statements share it exactly when they travelled together.
const note = (id: number) =>
  withoutWaiting(() => client.query(`insert into notes values (${id}, statement_timestamp())`));
/** A statement whose result nobody reads, through the explicit API. */
const unread = (text: string, values?: unknown[]) => withoutWaiting(() => client.query(text, values));
const ids = async () =>
  (await observer.query<{ id: number }>('select id from notes order by id')).rows.map((r) => r.id);

describe('PipelinedClient', () => {
  it('sends BEGIN and held writes with the next statement, in order', async () => {
    await client.query('begin');
    await note(1);
    await note(2);
    const { rows } = await client.query(
      `select count(*) as count,
              bool_and(sent_at = statement_timestamp()) as same_message from notes`,
    );
    await client.query('commit');
    expect(rows[0]).toEqual({ count: '2', same_message: true });
    expect(await ids()).toEqual([1, 2]);
  });

  it('carries held writes with COMMIT', async () => {
    await client.query('begin');
    await client.query('select 1');
    await note(1);
    expect(await ids()).toEqual([]);
    const result = await client.query('commit');
    expect(result.command).toBe('COMMIT');
    expect(await ids()).toEqual([1]);
  });

  it("fails the next statement with a held statement's error, and that statement does not run", async () => {
    await client.query('begin');
    await note(1);
    await note(1);
    await expect(client.query("select nextval('ran')")).rejects.toMatchObject({ code: '23505' });
    await client.query('rollback');
    expect(await ids()).toEqual([]);
    const { rows } = await observer.query<{ is_called: boolean }>('select is_called from ran');
    expect(rows[0]?.is_called).toBe(false);
    // The connection is usable again.
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('refuses to COMMIT a failed transaction, which PostgreSQL would silently roll back', async () => {
    await client.query('begin');
    await note(1);
    await unread('select 1 / 0');
    await expect(client.query('select 1')).rejects.toMatchObject({ code: '22012' });
    await expect(client.query('commit')).rejects.toMatchObject({ code: '22012' });
    expect(await ids()).toEqual([]);
  });

  it('commits after ROLLBACK TO SAVEPOINT recovered the transaction', async () => {
    await client.query('begin');
    await note(1);
    await client.query('savepoint before_error');
    await expect(client.query('select 1 / 0')).rejects.toMatchObject({ code: '22012' });
    await client.query('rollback to savepoint before_error');
    await client.query('commit');
    expect(await ids()).toEqual([1]);
  });

  it('drops held statements on ROLLBACK without sending them', async () => {
    await client.query('begin');
    await unread('insert into notes values (1, now())');
    await unread('select 1 / 0');
    await expect(client.query('rollback')).resolves.toMatchObject({ command: 'ROLLBACK' });
    expect(await ids()).toEqual([]);
  });

  it('sends held statements before a query with parameters', async () => {
    await client.query('begin');
    await note(1);
    const { rows } = await client.query('select count(*) as count from notes where id = $1', [1]);
    await client.query('commit');
    expect(rows[0]?.count).toBe('1');
  });

  it('sends unread statements with parameters at once, in order, and reports their errors later', async () => {
    await client.query('begin');
    const insert = 'insert into notes values ($1, now())';
    await expect(unread(insert, [1])).resolves.toMatchObject({ command: 'DEFERRED' });
    await unread(insert, [2]);
    const { rows } = await client.query('select count(*) as n from notes where id = any($1)', [[1, 2]]);
    expect(rows[0]?.n).toBe('2');
    await unread(insert, [2]);
    await note(3);
    await expect(client.query("select nextval('ran')")).rejects.toMatchObject({ code: '23505' });
    await expect(client.query('commit')).rejects.toMatchObject({ code: '23505' });
    expect(await ids()).toEqual([]);
    const seq = await observer.query<{ is_called: boolean }>('select is_called from ran');
    expect(seq.rows[0]?.is_called).toBe(false);
  });

  it('prepares a statement with parameters once per connection', async () => {
    for (const id of [1, 2, 3]) await client.query('insert into notes values ($1, now())', [id]);
    const { rows } = await client.query(
      "select count(*) as n from pg_prepared_statements where statement = 'insert into notes values ($1, now())'",
    );
    expect(rows[0]?.n).toBe('1');
    expect(await ids()).toEqual([1, 2, 3]);
  });

  it('runs an unread statement at once outside a transaction', async () => {
    await note(1);
    expect(await ids()).toEqual([1]);
  });

  it('answers each statement of a multi-statement query sent after held ones', async () => {
    await client.query('begin');
    await note(1);
    const results = (await client.query('select 1 as a; select 2 as b')) as unknown as pg.QueryResult[];
    await client.query('commit');
    expect(results.map((r) => r.rows[0])).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('waits for every statement but the first one sent within withoutWaiting', async () => {
    await client.query('begin');
    const both = withoutWaiting(async () => {
      await client.query('insert into notes values ($1, now())', [1]);
      return client.query('select 1 / $1::int as x', [0]);
    });
    // The second statement was waited for: its own error, at once.
    await expect(both).rejects.toMatchObject({ code: '22012' });
    await client.query('rollback');
  });
});

describe('PipelinedClient prepared statements', () => {
  let small: PipelinedClient;
  const LIMIT = 3;
  const prepared = async () =>
    Number(
      (await small.query("select count(*) as n from pg_prepared_statements where name like 'pipelined_%'"))
        .rows[0]?.n,
    );

  beforeEach(async () => {
    small = new PipelinedClient({ connectionString: url, preparedStatementLimit: LIMIT });
    await small.connect();
  });
  afterEach(async () => {
    await small.end();
  });

  it('keeps at most the limit per connection, evicting the least recently used', async () => {
    for (let n = 1; n <= 10; n++) {
      const { rows } = await small.query(`select $1::int + ${n} as sum`, [1]);
      expect(rows[0]?.sum).toBe(n + 1);
    }
    expect(await prepared()).toBeLessThanOrEqual(LIMIT);
    // pg's own record of what the connection prepared stays bounded too.
    const record = (small as unknown as { connection: { parsedStatements: object } }).connection
      .parsedStatements;
    expect(Object.keys(record).length).toBeLessThanOrEqual(LIMIT);
    // An evicted text is prepared again when it comes back.
    expect((await small.query('select $1::int + 1 as sum', [1])).rows[0]?.sum).toBe(2);
  });

  it('evicts a statement still in flight in a transaction without failing it, and a rollback keeps the bound', async () => {
    await small.query('begin');
    for (let id = 1; id <= 2 * LIMIT; id++) {
      await withoutWaiting(() => small.query(`insert into notes values ($1, now()) -- ${id}`, [id]));
    }
    await small.query('commit');
    expect(await ids()).toEqual([1, 2, 3, 4, 5, 6]);
    await small.query('begin');
    for (let n = 1; n <= 2 * LIMIT; n++) await small.query(`select $1::int + ${n} as sum`, [1]);
    await small.query('rollback');
    expect(await prepared()).toBeLessThanOrEqual(LIMIT);
  });
});

describe('PipelinedClient on a coalescing socket', () => {
  it('sends the statements a transaction does not wait for, and its COMMIT, in one write', async () => {
    const sockets: Socket[] = [];
    const coalesced = new PipelinedClient({
      connectionString: url,
      stream: () => {
        const socket = coalescingSocket();
        sockets.push(socket);
        return socket;
      },
    });
    await coalesced.connect();
    try {
      // Each write the socket hands to the operating system goes through _write or _writev.
      let writes = 0;
      const socket = sockets[0]! as Socket & Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
      for (const hook of ['_write', '_writev'] as const) {
        const original = socket[hook];
        socket[hook] = (...args: unknown[]) => {
          writes += 1;
          return original.apply(socket, args);
        };
      }
      await coalesced.query('begin');
      await coalesced.query('select $1::int as one', [1]);
      writes = 0;
      const insert = 'insert into notes values ($1, statement_timestamp())';
      await withoutWaiting(() => coalesced.query(insert, [1]));
      await withoutWaiting(() => coalesced.query(insert, [2]));
      await coalesced.query('commit');
      expect(writes).toBe(1);
      expect(await ids()).toEqual([1, 2]);
    } finally {
      await coalesced.end();
    }
  });
});
