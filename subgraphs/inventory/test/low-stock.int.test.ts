// inventory.evt.stock_low: once per fall of a product's available units (summed over warehouses)
// below the threshold, numbered per product, whether reservations racing for real or an
// administrator's setStock take it there; stock coming back re-arms it. A running inventory
// subgraph (its consumer and outbox relay) on real PostgreSQL and NATS: the events are read from
// the INVENTORY stream. Databases and streams are removed afterwards whatever happens.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { EntityManager } from '@mikro-orm/postgresql';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { validateMessage, type PayloadOf } from '../../../shared/contracts/index.ts';
import type { MikroORM } from '../../../shared/db/database.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { qualify } from '../../../shared/messaging/topology.ts';
import { dropTestResources, graphqlRequest } from '../../../test/support/system.ts';
import { startTestUsers, testEnvironment, type TestUsers } from '../../../test/support/subgraph.ts';
import { StreamEvents } from '../../../test/support/stream-events.ts';
import { startInventory } from '../src/server.ts';
import { openInventoryDatabase } from './inventory-database.ts';
import { release } from '../src/domain/reservations.ts';
import { inventoryCommandHandlers } from '../src/messaging/handlers.ts';

type StockLow = PayloadOf<'inventory.evt.stock_low'>;

const THRESHOLD = 5;
const env = testEnvironment();
let users: TestUsers | undefined;
let inventory: RunningService | undefined;
let orm: MikroORM | undefined;
let nats: NatsConnection | undefined;
let events: StreamEvents | undefined;

/** Every stock_low read so far, in stream order. */
const seen: StockLow[] = [];

/** The product's stock_low events, read until its crossing number `upTo` has arrived. */
async function stockLowOf(productId: string, upTo: number): Promise<StockLow[]> {
  const of = () => seen.filter((e) => e.productId === productId);
  while (!of().some((e) => e.crossing === upTo)) {
    seen.push(validateMessage('inventory.evt.stock_low', (await events!.next()).payload));
  }
  return of();
}

/** Runs `work` in a transaction of its own, as the consumer runs a handler. */
function inTransaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
  return orm!.em.fork().transactional(work);
}

const reserveHandler = inventoryCommandHandlers({ lowStockThreshold: THRESHOLD })['inventory.cmd.reserve'];
const reserveOne = (orderId: string, productId: string) =>
  inTransaction((em) => reserveHandler(em, { v: 1, orderId, items: [{ productId, quantity: 1 }] }));

async function setStock(productId: string, warehouse: string, available: number) {
  const result = await graphqlRequest<{ setStock: { available: number; reserved: number } }>(
    inventory!.url,
    'mutation($p: ID!, $w: String, $a: Int!) { setStock(productId: $p, warehouse: $w, available: $a) { available reserved } }',
    { p: productId, w: warehouse, a: available },
    users!.adminToken,
  );
  expect(result.errors).toBeUndefined();
  return result.data!.setStock;
}

beforeAll(async () => {
  users = await startTestUsers(env);
  const config = { ...env.config('inventory', users.jwksUrl), lowStockThreshold: THRESHOLD };
  inventory = await startInventory(config, env.logger);
  orm = await openInventoryDatabase(config, env.logger, 13);
  nats = await connect({ servers: env.resources.natsUrl });
  events = await StreamEvents.open(env.resources, 'INVENTORY', 'inventory.evt.stock_low');
});

afterAll(async () => {
  const results = await Promise.allSettled([events?.close(), nats?.close(), orm?.close()]);
  const stopped = await Promise.allSettled([inventory?.stop(), users?.stop()]);
  await dropTestResources(env.resources);
  for (const r of [...results, ...stopped]) if (r.status === 'rejected') throw r.reason;
});

describe('inventory.evt.stock_low', () => {
  test('racing reservations cross once; units coming back re-arm it, and the next fall is crossing 2', async () => {
    const product = randomUUID();
    // 13 units in two warehouses; 12 reservations of one unit race for them.
    await setStock(product, 'main', 10);
    await setStock(product, 'east', 3);
    const orders = Array.from({ length: 12 }, () => randomUUID());
    const raced = await Promise.allSettled(orders.map((order) => reserveOne(order, product)));
    expect(raced.filter((r) => r.status === 'rejected')).toEqual([]);

    // 1 left; 6 released: 7 again, above the threshold without a word. Then 3 more: 4.
    for (const order of orders.slice(0, 6)) await inTransaction((em) => release(em, order));
    const again = await Promise.allSettled([1, 2, 3].map(() => reserveOne(randomUUID(), product)));
    expect(again.filter((r) => r.status === 'rejected')).toEqual([]);

    expect(await stockLowOf(product, 2)).toEqual([
      { v: 1, productId: product, available: 4, threshold: THRESHOLD, crossing: 1 },
      { v: 1, productId: product, available: 4, threshold: THRESHOLD, crossing: 2 },
    ]);
  });

  test('a reserve command through NATS and an administrator lowering stock both announce their crossing', async () => {
    const product = randomUUID();
    await setStock(product, 'main', 6);
    await jetstream(nats!).publish(
      qualify(env.id, 'inventory.cmd.reserve'),
      JSON.stringify({ v: 1, orderId: randomUUID(), items: [{ productId: product, quantity: 2 }] }),
    );
    expect(await stockLowOf(product, 1)).toEqual([
      { v: 1, productId: product, available: 4, threshold: THRESHOLD, crossing: 1 },
    ]);

    // Restocked above the threshold (re-armed, no event), then set below it by hand.
    expect(await setStock(product, 'main', 10)).toEqual({ available: 10, reserved: 2 });
    expect(await setStock(product, 'north', 2)).toEqual({ available: 12, reserved: 2 });
    expect(await setStock(product, 'main', 1)).toEqual({ available: 3, reserved: 2 });
    expect(await stockLowOf(product, 2)).toEqual([
      { v: 1, productId: product, available: 4, threshold: THRESHOLD, crossing: 1 },
      { v: 1, productId: product, available: 3, threshold: THRESHOLD, crossing: 2 },
    ]);
  });
});
