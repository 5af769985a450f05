// Two instances of inventory and of payments side by side: their consumers compete for the
// same durable consumers and their outbox relays share each database, and the saga gives the
// same results as with one: exact stock under a race, confirmations, declines, nothing twice.
// The gateway routes each subgraph over both its instances (INVENTORY_URL lists both): reads
// spread over them, and one instance killed costs a client nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents } from './support/client.ts';
import { SystemDatabases, checkInvariants, waitUntilQuiet } from './faults.invariants.ts';
import { metricSum } from './support/metrics.ts';

let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;
let dbs: SystemDatabases;
const initialStock = new Map<string, number>();

beforeAll(async () => {
  system = await startTestSystem({
    instances: { inventory: 2, payments: 2 },
    env: { RATE_LIMIT_PER_MINUTE: '100000' },
  });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
  dbs = await SystemDatabases.open(system);
}, 120_000);

afterAll(async () => {
  await dbs?.close();
  await events?.close();
  await system?.dispose();
});

async function product(priceCents: number, stock: number) {
  const created = await client.createProduct(admin, { priceCents, stock });
  initialStock.set(created.id, stock);
  return created;
}

async function placed(token: string, productId: string, quantity: number, card = 'pm_card_visa') {
  const response = await client.placeOrder(token, [{ productId, quantity }], card);
  expect(response.errors).toBeUndefined();
  return response.data!.placeOrder;
}

/** The metric `name` of process `id`, summed over the series whose labels include `having`. */
function metricOf(id: string, name: string, having = ''): Promise<number> {
  return metricSum(system.process(id).baseUrl, name, having);
}

/** `messages_handled_total` of one process, summed over its consumers and outcomes. */
function handledBy(id: string): Promise<number> {
  return metricOf(id, 'messages_handled_total');
}

describe('two instances of inventory and of payments', () => {
  it('sells exactly the stock there is to 40 customers racing for 5 units', async () => {
    const scarce = await product(100, 5);
    const customers = await Promise.all(Array.from({ length: 40 }, () => client.registerCustomer()));
    const orders = await Promise.all(customers.map((c) => placed(c.token, scarce.id, 1)));
    const outcomes = await Promise.all(orders.map((o) => events.until(o.id)));
    expect(outcomes.filter((e) => e.status === 'CONFIRMED')).toHaveLength(5);
    const cancelled = outcomes.filter((e) => e.status === 'CANCELLED');
    expect(cancelled).toHaveLength(35);
    expect(cancelled.every((e) => e.reason === 'OUT_OF_STOCK')).toBe(true);
    expect(await client.stock(scarce.id)).toEqual({ available: 0, reserved: 0 });
  });

  it('confirms good cards and cancels declined ones, releasing their stock', async () => {
    const item = await product(1250, 100);
    const customers = await Promise.all(Array.from({ length: 10 }, () => client.registerCustomer()));
    const orders = await Promise.all(
      customers.map((c, i) => placed(c.token, item.id, 2, i % 2 ? 'pm_card_chargeDeclined' : 'pm_card_visa')),
    );
    for (const [i, order] of orders.entries()) {
      const event = await events.until(order.id);
      const view = await client.order(customers[i]!.token, order.id);
      if (i % 2 === 0) {
        expect(event.status).toBe('CONFIRMED');
        expect(view!.history.map((h) => h.status)).toEqual([
          'PENDING',
          'INVENTORY_RESERVED',
          'PAYMENT_AUTHORIZED',
          'CONFIRMED',
        ]);
        expect(view!.payment).toEqual({ status: 'CAPTURED', amount: { amountCents: 2500, currency: 'USD' } });
      } else {
        expect(event).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
        expect(view!.history.map((h) => h.status)).toEqual(['PENDING', 'INVENTORY_RESERVED', 'CANCELLED']);
        expect(view!.payment?.status).toBe('DECLINED');
      }
    }
    // The declined orders' releases are compensations sent with their cancellation.
    await waitUntilQuiet(system, dbs, 30_000);
    expect(await client.stock(item.id)).toEqual({ available: 90, reserved: 0 });
  });

  it('had both instances of each handle messages, and nothing twice', async () => {
    await waitUntilQuiet(system, dbs, 30_000);
    const handled = Object.fromEntries(
      await Promise.all(
        ['inventory', 'inventory#2', 'payments', 'payments#2'].map(async (id) => [id, await handledBy(id)]),
      ),
    );
    console.log(`messages handled per instance: ${JSON.stringify(handled)}`);
    for (const id of Object.keys(handled))
      expect({ id, handled: handled[id] > 0 }).toEqual({ id, handled: true });
    const report = await checkInvariants(dbs, initialStock);
    expect(report.problems).toEqual([]);
    expect(report.byOutcome).toEqual({
      CONFIRMED: 10,
      'CANCELLED OUT_OF_STOCK': 35,
      'CANCELLED PAYMENT_DECLINED': 5,
    });
  });
});

describe('the gateway routing inventory over its two instances', () => {
  const INSTANCES = ['inventory', 'inventory#2'];
  const served = () => Promise.all(INSTANCES.map((id) => metricOf(id, 'graphql_operations_total')));

  it('spreads reads over both, and skips one that is killed once its breaker opens', async () => {
    const item = await product(700, 30);
    const before = await served();
    for (let i = 0; i < 6; i++) expect(await client.stock(item.id)).toEqual({ available: 30, reserved: 0 });
    const after = await served();
    expect(after.map((n, i) => n - before[i]!)).toEqual([3, 3]);

    const dead = `127.0.0.1:${system.process('inventory#2').port}`;
    const failovers = () => metricOf('gateway', 'gateway_subgraph_failovers_total', `instance="${dead}"`);
    const breakerOf = () => metricOf('gateway', 'gateway_subgraph_breaker_state', `instance="${dead}"`);
    const failedOverBefore = await failovers();
    await system.kill('inventory#2');
    try {
      // Every query answers in full: a call refused by the dead instance goes to the other.
      for (let i = 0; i < 16; i++)
        expect(await client.stock(item.id)).toEqual({ available: 30, reserved: 0 });
      // Its breaker opened after the default threshold of 5 failures; after that it was skipped.
      expect(await breakerOf()).toBe(2);
      expect((await failovers()) - failedOverBefore).toBe(5);
    } finally {
      await system.restart('inventory#2');
    }
  });
});
