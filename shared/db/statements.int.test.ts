// `query` through a real service database (MikroORM, its pool, the pipelined client): bind
// parameters, arrays as PostgreSQL arrays, the transaction's connection, PostgreSQL's errors.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defineEntity, p } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { openDatabase, type MikroORM } from './database.ts';
import { query, queryUnread } from './statements.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';

const Item = defineEntity({
  name: 'Item',
  tableName: 'items',
  properties: { id: p.integer().primary(), label: p.string() },
});
class Init extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table items (id int primary key, label text not null)');
  }
}

const env = testEnvironment();
let orm: MikroORM;

beforeAll(async () => {
  orm = await openDatabase({
    serverUrl: env.resources.databaseUrl,
    databaseName: `${env.id}_statements`,
    entities: [Item],
    migrations: [{ name: 'Init', class: Init }],
    logger: env.logger,
    pipelined: true,
  });
});
afterAll(async () => {
  await orm?.close(true);
  await dropTestResources(env.resources);
});

describe("a service's connections", () => {
  it('ask the server to probe a silent client within a minute, not after two hours', async () => {
    const [row] = await orm.em
      .fork()
      .execute<{ idle: string; interval: string; count: string }[]>(
        'select current_setting(?) as idle, current_setting(?) as interval, current_setting(?) as count',
        ['tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count'],
      );
    expect(row).toEqual({ idle: '30', interval: '10', count: '3' });
  });
});

describe('query', () => {
  it('binds values, including arrays, without writing them into the SQL text', async () => {
    const em = orm.em.fork();
    // A value that would break a statement it was pasted into.
    const label = "it's ? $1";
    await query(em, 'insert into items (id, label) select unnest(?::int[]), ?', [[1, 2, 3], label]);
    const rows = await query<{ id: number; label: string }>(
      em,
      'select id, label from items where id = any(?::int[]) order by id',
      [[1, 3]],
    );
    expect(rows).toEqual([
      { id: 1, label },
      { id: 3, label },
    ]);
  });

  it("runs on the transaction's connection, so a rollback undoes it", async () => {
    await expect(
      orm.em.fork().transactional(async (em) => {
        await queryUnread(em, 'insert into items (id, label) values (?, ?)', [10, 'kept?']);
        const [seen] = await query<{ n: string }>(em, 'select count(*) as n from items where id = ?', [10]);
        expect(seen?.n).toBe('1');
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    const [after] = await query<{ n: string }>(
      orm.em.fork(),
      'select count(*) as n from items where id = ?',
      [10],
    );
    expect(after?.n).toBe('0');
  });

  it("reports PostgreSQL's error, with its code and constraint, at the next statement", async () => {
    const failure = orm.em.fork().transactional(async (em) => {
      await queryUnread(em, 'insert into items (id, label) values (?, ?)', [20, 'first']);
      await queryUnread(em, 'insert into items (id, label) values (?, ?)', [20, 'again']);
      await query(em, 'select 1 as one where ? = 1', [1]);
    });
    await expect(failure).rejects.toMatchObject({ code: '23505', constraint: 'items_pkey' });
    const [after] = await query<{ n: string }>(
      orm.em.fork(),
      'select count(*) as n from items where id = ?',
      [20],
    );
    expect(after?.n).toBe('0');
  });
});
