// JetStream's streams and consumers deleted under the running system (an operator's
// `nats consumer rm` or `nats stream rm`, or NATS restarted with its store wiped): the services
// declare them again (shared/messaging/self-healing.ts) and the next order goes through the
// saga as ever, instead of waiting for messages nobody takes until its step times out.
//
// NATS here is a private nats-server with a user per process (as in production: each may create
// any stream but only its own consumers), on a free port with a store of its own, so deleting
// and wiping disturbs no other test.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { consumerName, streamName } from '../../shared/messaging/topology.ts';
import { natsAdminOptions, startTestSystem, testId, type TestSystem } from '../../test/support/system.ts';
import { startOwnNats, type OwnNats } from '../../test/support/own-nats.ts';
import { Client, OrderEvents } from '../support/client.ts';

const systemId = testId();
let nats: OwnNats | undefined;
let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;
let operator: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startOwnNats(systemId);
  system = await startTestSystem({
    id: systemId,
    natsUrl: nats.url,
    natsCredentials: nats.credentials,
    env: { RATE_LIMIT_PER_MINUTE: '100000' },
  });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
  operator = await connect({ ...natsAdminOptions(system), maxReconnectAttempts: -1 });
  jsm = await jetstreamManager(operator);
}, 120_000);

afterAll(async () => {
  await operator?.close();
  await events?.close();
  await system?.dispose();
  await nats?.dispose();
}, 60_000);

/** Places an order for 2 of a new product (stock 5) and expects the saga to confirm it. */
async function orderGoesThrough(): Promise<void> {
  const product = await client.createProduct(admin, { priceCents: 800, stock: 5 });
  const customer = await client.registerCustomer();
  const response = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]);
  expect(response.errors).toBeUndefined();
  const order = response.data!.placeOrder;

  expect((await events.until(order.id)).status).toBe('CONFIRMED');
  const view = await client.order(customer.token, order.id);
  expect(view!.history.map((h) => h.status)).toEqual([
    'PENDING',
    'INVENTORY_RESERVED',
    'PAYMENT_AUTHORIZED',
    'CONFIRMED',
  ]);
  expect(view!.payment?.status).toBe('CAPTURED');
  expect(await client.stock(product.id)).toEqual({ available: 3, reserved: 0 });
}

describe('streams and consumers deleted under the running system', () => {
  it('confirms an order placed after the saga consumers were deleted', async () => {
    await orderGoesThrough();
    for (const consumer of ['inventory-commands', 'orders-inventory-events', 'payments-commands'] as const) {
      const stream = consumer.startsWith('payments') ? 'PAYMENTS' : 'INVENTORY';
      await jsm.consumers.delete(streamName(systemId, stream), consumerName(systemId, consumer));
    }
    await orderGoesThrough();
  }, 90_000);

  it('confirms an order placed after the saga streams were deleted', async () => {
    for (const stream of ['INVENTORY', 'PAYMENTS', 'ORDERS'] as const) {
      await jsm.streams.delete(streamName(systemId, stream));
    }
    await orderGoesThrough();
  }, 90_000);

  it('confirms an order placed after NATS restarted with its store wiped', async () => {
    await nats!.stop();
    await nats!.start({ wiped: true });
    await orderGoesThrough();
  }, 90_000);
});
