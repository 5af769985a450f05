// The inventory subgraph over real HTTP (with a users subgraph of its own for real tokens), and
// its reservation domain racing for real on PostgreSQL; its databases are dropped afterwards
// whatever happens.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { PayloadOf } from '../../../shared/contracts/index.ts';
import type { MikroORM } from '../../../shared/db/database.ts';
import { transact, type Runnable } from '../../../shared/messaging/inbox-transaction.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { dropTestResources, graphqlRequest, type GraphQLResponse } from '../../../test/support/system.ts';
import {
  sqlQueryCount,
  startTestUsers,
  testEnvironment,
  type TestUsers,
} from '../../../test/support/subgraph.ts';
import { startInventory } from '../src/server.ts';
import { openInventoryDatabase } from './inventory-database.ts';
import { commit, release, reserve, restock, type ReserveItem } from '../src/domain/reservations.ts';
import {
  inventoryCommandConsumer,
  inventoryCommandHandlers,
  type InventoryCommand,
} from '../src/messaging/handlers.ts';

const env = testEnvironment();
let users: TestUsers | undefined;
let inventory: RunningService | undefined;
let orm: MikroORM | undefined;
let admin = '';
let customer = '';

const SET_STOCK = `mutation($p: ID!, $w: String, $a: Int!) {
  setStock(productId: $p, warehouse: $w, available: $a) { available reserved } }`;
const STOCK = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id stock { available reserved } } } }`;

function gql<T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
) {
  return graphqlRequest<T>(inventory!.url, query, variables, token);
}

function errorOf(result: GraphQLResponse<unknown>) {
  expect(result.errors?.length).toBeGreaterThan(0);
  return result.errors![0]!.extensions ?? {};
}

/** Runs `work` in a transaction of its own, as a message handler would. */
function inTransaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
  return orm!.em.fork().transactional(work);
}

async function seed(productId: string, warehouse: string, available: number): Promise<void> {
  await orm!.em.fork().execute(
    `insert into stock (product_id, warehouse, available) values (?, ?, ?)
       on conflict (product_id, warehouse) do update set available = excluded.available`,
    [productId, warehouse, available],
    'run',
  );
}

interface Counts {
  available: number;
  reserved: number;
  sold: number;
}

async function counts(productId: string): Promise<Counts> {
  const [row] = await orm!.em.fork().execute<{ available: string; reserved: string; sold: string }[]>(
    `select coalesce(sum(available), 0) as available, coalesce(sum(reserved), 0) as reserved,
              coalesce(sum(sold), 0) as sold from stock where product_id = ?`,
    [productId],
  );
  return { available: Number(row!.available), reserved: Number(row!.reserved), sold: Number(row!.sold) };
}

async function statusOf(orderId: string): Promise<{ status: string; reason: string | null } | undefined> {
  const [row] = await orm!.em
    .fork()
    .execute<{ status: string; reason: string | null }[]>(
      'select status, reason from reservations where order_id = ?',
      [orderId],
    );
  return row;
}

async function outboxFor(orderId: string): Promise<{ subject: string; payload: Record<string, unknown> }[]> {
  return orm!.em
    .fork()
    .execute(`select subject, payload from outbox where payload->>'orderId' = ? order by seq`, [orderId]);
}

beforeAll(async () => {
  users = await startTestUsers(env);
  admin = users.adminToken;
  customer = await users.customerToken();
  const config = env.config('inventory', users.jwksUrl);
  inventory = await startInventory(config, env.logger, { messaging: false });
  orm = await openInventoryDatabase(config, env.logger, 20);
});

afterAll(async () => {
  const results = await Promise.allSettled([orm?.close(), inventory?.stop(), users?.stop()]);
  await dropTestResources(env.resources);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe('setStock and Product.stock over HTTP', () => {
  test('an administrator sets stock per warehouse; the level is summed over warehouses', async () => {
    const product = randomUUID();
    const main = await gql(SET_STOCK, { p: product, a: 5 }, admin);
    expect(main).toEqual({ data: { setStock: { available: 5, reserved: 0 } } });
    const east = await gql(SET_STOCK, { p: product, w: 'east-1', a: 3 }, admin);
    expect(east).toEqual({ data: { setStock: { available: 8, reserved: 0 } } });
    const lowered = await gql(SET_STOCK, { p: product, w: 'main', a: 1 }, admin);
    expect(lowered).toEqual({ data: { setStock: { available: 4, reserved: 0 } } });
    expect((await gql(STOCK, { r: [{ __typename: 'Product', id: product }] })).data).toEqual({
      _entities: [{ id: product, stock: { available: 4, reserved: 0 } }],
    });
  });

  test('setStock leaves held units alone', async () => {
    const product = randomUUID();
    await gql(SET_STOCK, { p: product, a: 5 }, admin);
    await inTransaction((em) => reserve(em, randomUUID(), [{ productId: product, quantity: 2 }]));
    expect(await gql(SET_STOCK, { p: product, a: 10 }, admin)).toEqual({
      data: { setStock: { available: 10, reserved: 2 } },
    });
  });

  test('stock is visible to everyone; a product with no stock rows has 0/0', async () => {
    const product = randomUUID();
    const r = [{ __typename: 'Product', id: product }];
    for (const token of [undefined, customer, admin]) {
      expect((await gql(STOCK, { r }, token)).data).toEqual({
        _entities: [{ id: product, stock: { available: 0, reserved: 0 } }],
      });
    }
  });

  test('customers are FORBIDDEN and anonymous callers UNAUTHENTICATED', async () => {
    const product = randomUUID();
    expect(errorOf(await gql(SET_STOCK, { p: product, a: 1 }, customer)).code).toBe('FORBIDDEN');
    expect(errorOf(await gql(SET_STOCK, { p: product, a: 1 })).code).toBe('UNAUTHENTICATED');
    expect(await counts(product)).toEqual({ available: 0, reserved: 0, sold: 0 });
  });

  test.each([
    ['productId', { p: 'not-a-uuid', a: 1 }],
    ['warehouse', { p: randomUUID(), w: 'Main Hall', a: 1 }],
    ['warehouse', { p: randomUUID(), w: '', a: 1 }],
    ['warehouse', { p: randomUUID(), w: 'w'.repeat(41), a: 1 }],
    ['available', { p: randomUUID(), a: -1 }],
    ['available', { p: randomUUID(), a: 1_000_000_001 }],
  ])('setStock with a bad %s is BAD_USER_INPUT (case %#)', async (field, variables) => {
    expect(errorOf(await gql(SET_STOCK, variables, admin))).toEqual({ code: 'BAD_USER_INPUT', field });
  });

  test('the stock of 50 products costs one SQL query', async () => {
    const products = Array.from({ length: 50 }, () => randomUUID());
    for (const [i, id] of products.entries()) if (i % 2 === 0) await seed(id, 'main', i);
    await seed(products[0]!, 'east', 7);
    const r = products.map((id) => ({ __typename: 'Product', id }));
    const before = await sqlQueryCount(inventory!);
    const result = await gql<{ _entities: { id: string; stock: { available: number; reserved: number } }[] }>(
      STOCK,
      { r },
    );
    const after = await sqlQueryCount(inventory!);
    expect(result.errors).toBeUndefined();
    expect(after - before).toBe(1);
    expect(result.data!._entities.map((e) => e.stock.available)).toEqual(
      products.map((_, i) => (i === 0 ? 7 : i % 2 === 0 ? i : 0)),
    );
  });
});

describe('reservations', () => {
  test('40 concurrent reserves of 1 unit against 5: exactly 5 win, 35 are rejected', async () => {
    const product = randomUUID();
    await seed(product, 'main', 5);
    const orders = Array.from({ length: 40 }, () => randomUUID());
    const results = await Promise.allSettled(
      orders.map((orderId) =>
        inTransaction((em) => reserve(em, orderId, [{ productId: product, quantity: 1 }])),
      ),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures).toEqual([]);
    const outcomes = results.map((r) => (r as PromiseFulfilledResult<{ outcome: string }>).value.outcome);
    expect(outcomes.filter((o) => o === 'RESERVED')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'REJECTED')).toHaveLength(35);
    expect(await counts(product)).toEqual({ available: 0, reserved: 5, sold: 0 });
    const statuses = await Promise.all(orders.map(statusOf));
    expect(statuses.filter((s) => s?.status === 'REJECTED' && s.reason === 'OUT_OF_STOCK')).toHaveLength(35);
  });

  test('orders of two products in opposite order race without deadlock or overselling', async () => {
    const a = randomUUID();
    const b = randomUUID();
    await seed(a, 'main', 6);
    await seed(b, 'main', 4);
    await seed(b, 'east', 4);
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => {
        const items: ReserveItem[] = [
          { productId: a, quantity: 1 },
          { productId: b, quantity: 1 },
        ];
        return inTransaction((em) => reserve(em, randomUUID(), i % 2 ? items : [...items].reverse()));
      }),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const reserved = results.filter((r) => r.status === 'fulfilled' && r.value.outcome === 'RESERVED').length;
    expect(reserved).toBe(6);
    expect(await counts(a)).toEqual({ available: 0, reserved: 6, sold: 0 });
    expect(await counts(b)).toEqual({ available: 2, reserved: 6, sold: 0 });
  });

  test('all lines or none, a line split across warehouses when one is not enough', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const none = randomUUID();
    await seed(a, 'main', 3);
    await seed(a, 'east', 2);
    await seed(b, 'main', 1);
    const rejected = await inTransaction((em) =>
      reserve(em, randomUUID(), [
        { productId: a, quantity: 1 },
        { productId: none, quantity: 1 },
      ]),
    );
    expect(rejected).toEqual({ outcome: 'REJECTED', reason: 'OUT_OF_STOCK', replayed: false });
    expect(await counts(a)).toEqual({ available: 5, reserved: 0, sold: 0 });

    const order = randomUUID();
    const reserved = await inTransaction((em) =>
      reserve(em, order, [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 },
        { productId: a, quantity: 2 },
      ]),
    );
    expect(reserved.outcome).toBe('RESERVED');
    expect(reserved.outcome === 'RESERVED' && reserved.lines).toEqual(
      expect.arrayContaining([
        { productId: a, warehouse: 'main', quantity: 3 },
        { productId: a, warehouse: 'east', quantity: 1 },
        { productId: b, warehouse: 'main', quantity: 1 },
      ]),
    );
    expect(await counts(a)).toEqual({ available: 1, reserved: 4, sold: 0 });
    expect(await counts(b)).toEqual({ available: 0, reserved: 1, sold: 0 });
  });

  test('reserving the same order twice holds stock once and answers with the recorded outcome', async () => {
    const product = randomUUID();
    await seed(product, 'main', 3);
    const order = randomUUID();
    const items = [{ productId: product, quantity: 2 }];
    const first = await inTransaction((em) => reserve(em, order, items));
    const again = await inTransaction((em) => reserve(em, order, items));
    expect(first).toMatchObject({ outcome: 'RESERVED', replayed: false });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await counts(product)).toEqual({ available: 1, reserved: 2, sold: 0 });

    const big = randomUUID();
    const tooMany = [{ productId: product, quantity: 5 }];
    expect(await inTransaction((em) => reserve(em, big, tooMany))).toMatchObject({ outcome: 'REJECTED' });
    await seed(product, 'main', 100);
    // Stock came in meanwhile, but the recorded answer stands.
    expect(await inTransaction((em) => reserve(em, big, tooMany))).toEqual({
      outcome: 'REJECTED',
      reason: 'OUT_OF_STOCK',
      replayed: true,
    });
  });

  test('concurrent duplicates of one reserve hold stock once', async () => {
    const product = randomUUID();
    await seed(product, 'main', 10);
    const order = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        inTransaction((em) => reserve(em, order, [{ productId: product, quantity: 3 }])),
      ),
    );
    expect(results.every((r) => r.status === 'fulfilled' && r.value.outcome === 'RESERVED')).toBe(true);
    expect(await counts(product)).toEqual({ available: 7, reserved: 3, sold: 0 });
  });

  test('a release before the reserve leaves a tombstone, and the late reserve is rejected', async () => {
    const product = randomUUID();
    await seed(product, 'main', 5);
    const order = randomUUID();
    expect(await inTransaction((em) => release(em, order))).toEqual({ status: 'RELEASED', changed: true });
    expect(await statusOf(order)).toEqual({ status: 'RELEASED', reason: 'RELEASED_BEFORE_RESERVE' });
    expect(await inTransaction((em) => reserve(em, order, [{ productId: product, quantity: 1 }]))).toEqual({
      outcome: 'REJECTED',
      reason: 'ALREADY_RELEASED',
      replayed: true,
    });
    expect(await counts(product)).toEqual({ available: 5, reserved: 0, sold: 0 });
  });

  test('release gives held units back once; a reserve after it is rejected', async () => {
    const product = randomUUID();
    await seed(product, 'main', 5);
    const order = randomUUID();
    await inTransaction((em) => reserve(em, order, [{ productId: product, quantity: 4 }]));
    expect(await inTransaction((em) => release(em, order))).toEqual({ status: 'RELEASED', changed: true });
    expect(await inTransaction((em) => release(em, order))).toEqual({ status: 'RELEASED', changed: false });
    expect(await counts(product)).toEqual({ available: 5, reserved: 0, sold: 0 });
    expect(
      await inTransaction((em) => reserve(em, order, [{ productId: product, quantity: 1 }])),
    ).toMatchObject({
      outcome: 'REJECTED',
      reason: 'ALREADY_RELEASED',
    });
  });

  test('commit sells held units; restock puts them back on sale; each happens once', async () => {
    const product = randomUUID();
    await seed(product, 'main', 4);
    await seed(product, 'east', 1);
    const order = randomUUID();
    await inTransaction((em) => reserve(em, order, [{ productId: product, quantity: 5 }]));
    expect(await counts(product)).toEqual({ available: 0, reserved: 5, sold: 0 });

    expect(await inTransaction((em) => commit(em, order))).toEqual({ status: 'COMMITTED', changed: true });
    expect(await inTransaction((em) => commit(em, order))).toEqual({ status: 'COMMITTED', changed: false });
    expect(await counts(product)).toEqual({ available: 0, reserved: 0, sold: 5 });
    // A committed reservation is not released: only restock undoes a sale.
    expect(await inTransaction((em) => release(em, order))).toEqual({ status: 'COMMITTED', changed: false });

    expect(await inTransaction((em) => restock(em, order))).toEqual({ status: 'RESTOCKED', changed: true });
    expect(await inTransaction((em) => restock(em, order))).toEqual({ status: 'RESTOCKED', changed: false });
    expect(await inTransaction((em) => commit(em, order))).toEqual({ status: 'RESTOCKED', changed: false });
    expect(await counts(product)).toEqual({ available: 5, reserved: 0, sold: 0 });
  });

  test('restock of a reservation never committed releases it; commit of an unknown order does nothing', async () => {
    const product = randomUUID();
    await seed(product, 'main', 2);
    const order = randomUUID();
    await inTransaction((em) => reserve(em, order, [{ productId: product, quantity: 2 }]));
    expect(await inTransaction((em) => restock(em, order))).toEqual({ status: 'RELEASED', changed: true });
    expect(await counts(product)).toEqual({ available: 2, reserved: 0, sold: 0 });
    const unknown = randomUUID();
    expect(await inTransaction((em) => commit(em, unknown))).toEqual({ status: null, changed: false });
    expect(await statusOf(unknown)).toBeUndefined();
  });

  test('commit and release racing on the same orders: one wins each, stock is conserved', async () => {
    const product = randomUUID();
    await seed(product, 'main', 20);
    const orders = Array.from({ length: 20 }, () => randomUUID());
    for (const order of orders) {
      await inTransaction((em) => reserve(em, order, [{ productId: product, quantity: 1 }]));
    }
    const results = await Promise.allSettled(
      orders.flatMap((order) => [
        inTransaction((em) => commit(em, order)),
        inTransaction((em) => release(em, order)),
        inTransaction((em) => restock(em, order)),
      ]),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const total = await counts(product);
    expect(total.available + total.reserved + total.sold).toBe(20);
    expect(total.reserved).toBe(0);
    const statuses = await Promise.all(orders.map(statusOf));
    const sold = statuses.filter((s) => s?.status === 'COMMITTED').length;
    expect(total.sold).toBe(sold);
  });

  test('reserve refuses to run outside a transaction', async () => {
    await expect(
      reserve(orm!.em.fork(), randomUUID(), [{ productId: randomUUID(), quantity: 1 }]),
    ).rejects.toThrow(/inside a transaction/);
  });
});

describe('command handlers', () => {
  test('each command writes its reply to the outbox in the same transaction', async () => {
    const product = randomUUID();
    await seed(product, 'main', 1);
    const h = inventoryCommandHandlers({ lowStockThreshold: 5 });
    const ok = randomUUID();
    const short = randomUUID();
    await inTransaction((em) =>
      h['inventory.cmd.reserve'](em, { v: 1, orderId: ok, items: [{ productId: product, quantity: 1 }] }),
    );
    await inTransaction((em) =>
      h['inventory.cmd.reserve'](em, { v: 1, orderId: short, items: [{ productId: product, quantity: 1 }] }),
    );
    await inTransaction((em) => h['inventory.cmd.commit'](em, { v: 1, orderId: ok }));
    await inTransaction((em) => h['inventory.cmd.restock'](em, { v: 1, orderId: ok }));
    await inTransaction((em) => h['inventory.cmd.release'](em, { v: 1, orderId: short }));

    expect(await outboxFor(ok)).toEqual([
      { subject: 'inventory.evt.reserved', payload: { v: 1, orderId: ok } },
      { subject: 'inventory.evt.committed', payload: { v: 1, orderId: ok } },
      { subject: 'inventory.evt.restocked', payload: { v: 1, orderId: ok } },
    ]);
    expect(await outboxFor(short)).toEqual([
      {
        subject: 'inventory.evt.reservation_rejected',
        payload: { v: 1, orderId: short, reason: 'OUT_OF_STOCK' },
      },
      { subject: 'inventory.evt.released', payload: { v: 1, orderId: short } },
    ]);
  });

  test('a failing transaction writes neither the change nor the reply', async () => {
    const product = randomUUID();
    await seed(product, 'main', 3);
    const order = randomUUID();
    await expect(
      inTransaction(async (em) => {
        await inventoryCommandHandlers({ lowStockThreshold: 5 })['inventory.cmd.reserve'](em, {
          v: 1,
          orderId: order,
          items: [{ productId: product, quantity: 2 }],
        });
        throw new Error('the inbox write failed');
      }),
    ).rejects.toThrow('the inbox write failed');
    expect(await outboxFor(order)).toEqual([]);
    expect(await statusOf(order)).toBeUndefined();
    expect(await counts(product)).toEqual({ available: 3, reserved: 0, sold: 0 });
  });
});

describe('command batches on two instances', () => {
  type Command = { [S in InventoryCommand]: { subject: S; payload: PayloadOf<S> } }[InventoryCommand];
  const reserveOne = (orderId: string, productId: string): Command => ({
    subject: 'inventory.cmd.reserve',
    payload: { v: 1, orderId, items: [{ productId, quantity: 1 }] },
  });
  const releaseOf = (orderId: string): Command => ({
    subject: 'inventory.cmd.release',
    payload: { v: 1, orderId },
  });

  /**
   * Runs the commands as inventory's consumer (as server.ts sets it up) runs a batch: one inbox
   * transaction, its prepareBatch first, then each command's handler. `afterFirst` runs in the
   * transaction once the first command is handled and holds its locks.
   */
  function runBatch(commands: readonly Command[], afterFirst: () => Promise<void>): Promise<unknown> {
    const { handlers, prepareBatch } = inventoryCommandConsumer({ lowStockThreshold: 5 });
    const handle = (em: EntityManager, { subject, payload }: Command) =>
      subject === 'inventory.cmd.reserve'
        ? handlers[subject](em, payload)
        : handlers[subject](em, payload as PayloadOf<'inventory.cmd.release'>);
    // Only what `transact` reads of a delivery: no NATS message, no span.
    const deliveries = commands.map(
      (command, n) =>
        ({
          meta: { subject: command.subject, messageId: randomUUID(), deliveryCount: 1 },
          payload: command.payload,
          context: ROOT_CONTEXT,
          run: async (em: EntityManager) => {
            await handle(em, command);
            if (n > 0) return;
            // Statements nobody waits for may still be on their way (pipelined-client.ts): one
            // that is waited for runs after them, so the first command's locks are held now.
            await em.execute('select 1');
            await afterFirst();
          },
        }) as unknown as Runnable,
    );
    return transact({ consumer: 'inventory-commands', orm: orm!, prepareBatch }, deliveries);
  }

  /**
   * Resolves once a transaction on this database waits for a row lock. PostgreSQL tells no one
   * when that happens, so it is asked until it says so (or `signal` says to stop asking).
   */
  async function someoneWaitsForALock(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const [row] = await orm!.em.fork().execute<{ n: string }[]>(
        `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`,
      );
      if (Number(row!.n) > 0) return;
      await delay(5);
    }
  }

  /**
   * Two instances' batches, interleaved the way that deadlocks when a batch takes its rows' locks
   * message by message: `first` handles its first command and holds on; `second` then runs until
   * it has handled its first command too, or waits for a lock `first` holds; then both go on.
   */
  async function race(first: readonly Command[], second: readonly Command[]) {
    let firstHalfway!: () => void;
    const halfway = new Promise<void>((resolve) => (firstHalfway = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const a = runBatch(first, async () => {
      firstHalfway();
      await resumed;
    });
    await Promise.race([halfway, a]);

    let secondHalfway!: () => void;
    const secondAlsoHalfway = new Promise<void>((resolve) => (secondHalfway = resolve));
    const b = runBatch(second, async () => secondHalfway());
    const stopAsking = new AbortController();
    await Promise.race([secondAlsoHalfway, someoneWaitsForALock(stopAsking.signal), b]).finally(() =>
      stopAsking.abort(),
    );
    resume();
    return Promise.allSettled([a, b]);
  }

  test('reserves of the same products in opposite orders commit without a deadlock', async () => {
    const [p, q] = [randomUUID(), randomUUID()];
    await seed(p, 'main', 10);
    await seed(q, 'main', 10);
    const orders = Array.from({ length: 4 }, () => randomUUID());
    const results = await race(
      [reserveOne(orders[0]!, p), reserveOne(orders[1]!, q)],
      [reserveOne(orders[2]!, q), reserveOne(orders[3]!, p)],
    );
    // A deadlock fails one batch (PostgreSQL's 40P01); the consumer would then redo it message by message.
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await counts(p)).toEqual({ available: 8, reserved: 2, sold: 0 });
    expect(await counts(q)).toEqual({ available: 8, reserved: 2, sold: 0 });
    for (const order of orders) {
      expect(await outboxFor(order)).toEqual([
        { subject: 'inventory.evt.reserved', payload: { v: 1, orderId: order } },
      ]);
    }
  });

  test('releases of orders holding the same products in opposite orders commit without a deadlock', async () => {
    const [p, q] = [randomUUID(), randomUUID()];
    await seed(p, 'main', 10);
    await seed(q, 'main', 10);
    const orders = Array.from({ length: 4 }, () => randomUUID());
    const held = [p, q, q, p];
    for (const [n, order] of orders.entries()) {
      await inTransaction((em) => reserve(em, order, [{ productId: held[n]!, quantity: 1 }]));
    }
    const results = await race(
      [releaseOf(orders[0]!), releaseOf(orders[1]!)],
      [releaseOf(orders[2]!), releaseOf(orders[3]!)],
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await counts(p)).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await counts(q)).toEqual({ available: 10, reserved: 0, sold: 0 });
    for (const order of orders) expect((await statusOf(order))?.status).toBe('RELEASED');
  });
});
