// Forged saga messages. NATS is reachable by every service (and, on a real network, by whatever
// else gets onto it); each service connects as its own user and may publish only its own
// subjects. A forged `payments.evt.captured` must be refused by the server, so it never reaches
// orders' consumer and an unpaid order stays unpaid; so must a `product_changed` with a huge
// revision from anyone but products. This file runs a nats-server of its own with the
// permissions of nats/permissions.ts (the shared NATS on 4222 has no users), and the whole
// system against it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type StartedNats } from '../../scripts/lib/nats-server.ts';
import { freePort } from '../../scripts/lib/ports.ts';
import { inboxPrefix, type NatsUser } from '../../nats/credentials.ts';
import { qualify, streamName, type StreamName } from '../../shared/messaging/topology.ts';
import { startTestSystem, testId, type TestSystem } from '../../test/support/system.ts';
import { StreamEvents } from '../../test/support/stream-events.ts';
import { Client, type StatusEvent } from '../support/client.ts';
import { subscribeWs, wsClient } from '../support/live.ts';

const id = testId();
let dataDir: string;
let nats: StartedNats;
let system: TestSystem;
let client: Client;
let adminToken: string;
let admin: NatsConnection;
let statusTap: Subscription;
const statuses = new Map<string, StatusEvent[]>();
const statusWaiters = new Set<() => void>();
const opened: NatsConnection[] = [];

function connectAs(user: NatsUser): Promise<NatsConnection> {
  return connect({
    servers: nats.url,
    user,
    pass: nats.credentials[user].password,
    inboxPrefix: inboxPrefix(user),
    maxReconnectAttempts: 0,
  }).then((nc) => {
    opened.push(nc);
    return nc;
  });
}

/** A JetStream publish of `payload` to the namespace's `subject`, as the connection's user. */
function publish(nc: NatsConnection, subject: string, payload: unknown) {
  return jetstream(nc).publish(qualify(id, subject), JSON.stringify(payload), { timeout: 5000 });
}

/** How many messages the stream holds on `subject` (namespace added). */
async function stored(stream: StreamName, subject: string): Promise<number> {
  const jsm = await jetstreamManager(admin);
  const info = await jsm.streams.info(streamName(id, stream), { subjects_filter: qualify(id, subject) });
  return info.state.subjects?.[qualify(id, subject)] ?? 0;
}

/** Resolves once the order has reached `status` (seen on its status subject). */
function reached(orderId: string, status: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!statuses.get(orderId)?.some((e) => e.status === status)) return;
      statusWaiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      statusWaiters.delete(check);
      reject(new Error(`order ${orderId} did not reach ${status}: ${JSON.stringify(statuses.get(orderId))}`));
    }, 30_000);
    statusWaiters.add(check);
    check();
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'nats-security-'));
  nats = await startNatsServer({
    address: { host: '127.0.0.1', port: await freePort() },
    dataDir,
    namespace: id,
  });
  system = await startTestSystem({ id, natsUrl: nats.url, natsCredentials: nats.credentials });
  client = new Client(system.urls.gateway!);
  adminToken = await client.adminToken();
  admin = await connectAs('admin');
  // As the gateway hears them (its user may listen to order status changes and nothing else).
  const gateway = await connectAs('gateway');
  statusTap = gateway.subscribe(qualify(id, 'orders.evt.status.*'), {
    callback: (_err, msg) => {
      const event = msg.json<StatusEvent>();
      statuses.set(event.orderId, [...(statuses.get(event.orderId) ?? []), event]);
      for (const waiter of [...statusWaiters]) waiter();
    },
  });
  await gateway.flush();
});

afterAll(async () => {
  statusTap?.unsubscribe();
  await Promise.allSettled(opened.map((nc) => nc.close()));
  await system?.dispose();
  await nats?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('NATS users and subject permissions', () => {
  it('refuses a client without credentials, or with a wrong password', async () => {
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0 })).rejects.toThrow(/authorization/i);
    await expect(
      connect({ servers: nats.url, user: 'orders', pass: 'not-the-password', maxReconnectAttempts: 0 }),
    ).rejects.toThrow(/authorization/i);
  });

  it('runs the whole saga: each service publishes its own events and the commands it sends', async () => {
    const product = await client.createProduct(adminToken, { priceCents: 1250, stock: 5 });
    const customer = await client.registerCustomer();
    const placed = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]);
    const orderId = placed.data!.placeOrder.id;
    await reached(orderId, 'CONFIRMED');
    const view = await client.order(customer.token, orderId);
    expect(view!.payment).toEqual({ status: 'CAPTURED', amount: { amountCents: 2500, currency: 'USD' } });

    // The gateway's live subscriptions hear orders' status events through its own NATS user.
    const socket = wsClient(system.urls.gatewayWs!, customer.token);
    const live = subscribeWs(socket, { id: orderId });
    try {
      await live.untilStatus('CONFIRMED');
      await client.data('mutation($id: ID!) { shipOrder(id: $id) { status } }', { id: orderId }, adminToken);
      await live.untilStatus('SHIPPED');
    } finally {
      live.close();
      await socket.dispose();
    }
  });

  it('lets users publish its user events as its own user', async () => {
    const customer = await client.registerCustomer();
    const events = await StreamEvents.open(
      { natsUrl: nats.url, natsNamespace: id, natsCredential: nats.credentials.admin },
      'USERS',
      `users.evt.user_changed.${customer.id}`,
    );
    try {
      expect((await events.next()).payload).toMatchObject({ userId: customer.id, role: 'CUSTOMER' });
    } finally {
      await events.close();
    }
  });

  it('never lets a forged payments.evt.captured confirm an unpaid order', async () => {
    // Without payments, an order waits for its payment at INVENTORY_RESERVED.
    await system.kill('payments');
    const product = await client.createProduct(adminToken, { priceCents: 990, stock: 5 });
    const customer = await client.registerCustomer();
    const placed = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    const orderId = placed.data!.placeOrder.id;
    await reached(orderId, 'INVENTORY_RESERVED');
    const authorized = await stored('PAYMENTS', 'payments.evt.authorized');
    const captured = await stored('PAYMENTS', 'payments.evt.captured');

    // Inventory (a compromised service) and the gateway (which faces the internet) try to pay it.
    for (const user of ['inventory', 'gateway', 'users'] as const) {
      const nc = await connectAs(user);
      const paymentId = randomUUID();
      await expect(publish(nc, 'payments.evt.authorized', { v: 1, orderId, paymentId })).rejects.toThrow(
        /permissions violation/i,
      );
      await expect(publish(nc, 'payments.evt.captured', { v: 1, orderId })).rejects.toThrow(
        /permissions violation/i,
      );
    }
    // Refused by the server, so nothing is in the stream orders' consumer reads from.
    expect(await stored('PAYMENTS', 'payments.evt.authorized')).toBe(authorized);
    expect(await stored('PAYMENTS', 'payments.evt.captured')).toBe(captured);
    // (Read from orders alone: payments, which would resolve `payment`, is down.)
    const { order } = await client.data<{ order: { status: string; history: { status: string }[] } }>(
      'query($id: ID!) { order(id: $id) { status history { status } } }',
      { id: orderId },
      customer.token,
    );
    expect(order.status).toBe('INVENTORY_RESERVED');
    expect(order.history.map((h) => h.status)).toEqual(['PENDING', 'INVENTORY_RESERVED']);
  });

  it('takes product changes only from products: a forged price never reaches orders', async () => {
    const product = await client.createProduct(adminToken, { priceCents: 4200, stock: 5 });
    const before = await stored('PRODUCTS', 'products.evt.product_changed');
    const forged = {
      v: 1,
      productId: product.id,
      sku: product.sku,
      name: 'forged',
      priceCents: 1,
      currency: 'USD',
      active: true,
      revision: 2_147_483_647,
    };
    for (const user of ['gateway', 'orders', 'inventory'] as const) {
      await expect(publish(await connectAs(user), 'products.evt.product_changed', forged)).rejects.toThrow(
        /permissions violation/i,
      );
    }
    expect(await stored('PRODUCTS', 'products.evt.product_changed')).toBe(before);
  });

  it('keeps a service out of the streams and subjects of others', async () => {
    const inventory = await connectAs('inventory');
    const jsm = await jetstreamManager(inventory);
    await expect(jsm.streams.purge(streamName(id, 'PAYMENTS'))).rejects.toThrow(/permissions violation/i);
    await expect(jsm.streams.delete(streamName(id, 'ORDERS'))).rejects.toThrow(/permissions violation/i);
    // A consumer of its own on another service's stream would let it read (and ack) its messages.
    await expect(
      jsm.consumers.add(streamName(id, 'PAYMENTS'), {
        durable_name: 'spy',
        filter_subject: qualify(id, 'payments.>'),
      }),
    ).rejects.toThrow(/permissions violation/i);
    // Nor can it listen to them on core NATS.
    const tap = inventory.subscribe(qualify(id, 'payments.>'));
    await expect(
      (async () => {
        for await (const _ of tap) return;
      })(),
    ).rejects.toThrow(/permissions violation/i);
  });
});
