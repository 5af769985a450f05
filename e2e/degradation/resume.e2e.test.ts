// Resumable live status (issue 10): a client that lost its connection subscribes again with
// `afterSequence` (the last `statusSequence` it saw) and gets every change after it, each as
// the order was then, then the live ones: nothing missed, nothing twice. Real gateway, real
// graphql-ws and graphql-sse clients, real saga.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client as WsClient } from 'graphql-ws';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';
import { Waiters } from '../../test/support/waiters.ts';
import { Client, OrderEvents, type Loose } from '../support/client.ts';
import { metricSum } from '../support/metrics.ts';
import {
  LiveSubscription,
  RESUMABLE_SUBSCRIPTION,
  resumingWs,
  subscribeSse,
  subscribeWs,
  wsClient,
  type ResumingSubscription,
} from '../support/live.ts';

const LIFECYCLE = [
  'PENDING',
  'INVENTORY_RESERVED',
  'PAYMENT_AUTHORIZED',
  'CONFIRMED',
  'SHIPPED',
  'DELIVERED',
];

let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;
const sockets: WsClient[] = [];
const lives: LiveSubscription[] = [];
const resuming: ResumingSubscription[] = [];

beforeAll(async () => {
  system = await startTestSystem({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
});

afterAll(async () => {
  for (const live of lives) live.close();
  await Promise.all([...sockets.map((s) => s.dispose()), ...resuming.map((r) => r.dispose())]);
  await events?.close();
  await system?.dispose();
});

function watch(token: string, variables: Record<string, unknown>): LiveSubscription {
  const socket = wsClient(system.urls.gatewayWs!, token);
  sockets.push(socket);
  const live = subscribeWs(socket, variables, RESUMABLE_SUBSCRIPTION);
  lives.push(live);
  return live;
}

async function placedOrder() {
  const product = await client.createProduct(admin, { priceCents: 900, stock: 20 });
  const customer = await client.registerCustomer();
  const response = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
  expect(response.errors).toBeUndefined();
  return { customer, orderId: response.data!.placeOrder.id };
}

async function confirmedOrder() {
  const placed = await placedOrder();
  expect((await events.until(placed.orderId)).status).toBe('CONFIRMED');
  return placed;
}

async function fulfil(orderId: string, step: 'shipOrder' | 'deliverOrder') {
  await client.data(`mutation($id: ID!) { ${step}(id: $id) { status } }`, { id: orderId }, admin);
}

/** Subscribers on the gateway right now (a subscription counts once it is being served). */
const liveSubscriptions = () => metricSum(system.process('gateway').baseUrl, 'gateway_live_subscriptions');

/** Orders read for resuming subscribers. */
const resumeReads = () =>
  metricSum(system.process('gateway').baseUrl, 'gateway_subscription_resume_reads_total');

async function untilLiveSubscriptions(count: number): Promise<void> {
  for (let i = 0; i < 200 && (await liveSubscriptions()) !== count; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(await liveSubscriptions()).toBe(count);
}

/** Every event shows the order as it was at its own sequence. */
function expectAsItWas(orders: Loose[]) {
  for (const order of orders) {
    expect(order.status).toBe(LIFECYCLE[order.statusSequence - 1]);
    expect(order.history.map((h: Loose) => h.status)).toEqual(LIFECYCLE.slice(0, order.statusSequence));
  }
}

function codes(live: LiveSubscription): unknown[] {
  const ending = live.ending as { kind: string; error?: Loose[] } | undefined;
  const errors = ending?.kind === 'error' ? ending.error : live.results.flatMap((r) => r.errors ?? []);
  return (errors ?? []).map((e) => e.extensions?.code);
}

describe('orderStatusChanged with afterSequence over graphql-ws', () => {
  it('gives a subscriber cut twice mid-saga every status exactly once, in order', async () => {
    const { customer, orderId } = await placedOrder();
    // Each reconnect waits until the test lets it: the order moves on while the client is away.
    let allowReconnect: () => void = () => undefined;
    let reconnectsAsked = 0;
    const asking = new Waiters();
    const reconnect = () =>
      new Promise<void>((resolve) => {
        allowReconnect = resolve;
        reconnectsAsked += 1;
        asking.wake();
      });
    const asked = (count: number) =>
      asking.until(
        () => reconnectsAsked >= count,
        () => new Error(`the client asked to reconnect ${reconnectsAsked} times, not ${count}`),
        30_000,
      );
    const sub = resumingWs(system.urls.gatewayWs!, customer.token, orderId, { afterSequence: 0, reconnect });
    resuming.push(sub);
    const { live } = sub;

    await live.until((l) => l.results.length >= 1, 'the first status');
    sub.cut();
    await asked(1);
    await events.until(orderId, ['CONFIRMED']);
    allowReconnect();

    await live.untilStatus('CONFIRMED');
    sub.cut();
    await asked(2);
    await fulfil(orderId, 'shipOrder');
    await events.until(orderId, ['SHIPPED']);
    allowReconnect();

    await live.untilStatus('SHIPPED');
    await fulfil(orderId, 'deliverOrder');
    expect(await live.ended()).toEqual({ kind: 'complete' });
    expect(sub.connections()).toBe(3);
    expect(live.results.every((r) => r.errors === undefined)).toBe(true);
    expect(live.statuses).toEqual(LIFECYCLE);
    expect(live.orders.map((o) => o.statusSequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expectAsItWas(live.orders);
    expect(live.orders.every((o) => o.customer.email === customer.email)).toBe(true);
  });

  it('sends only live changes from the current sequence, next to other subscribers of the order', async () => {
    const { customer, orderId } = await confirmedOrder();
    const before = await liveSubscriptions();
    const plain = watch(customer.token, { id: orderId });
    const fromStart = watch(customer.token, { id: orderId, after: 1 });
    const liveOnly = watch(customer.token, { id: orderId, after: 4 });
    await plain.untilStatus('CONFIRMED');
    await fromStart.untilStatus('CONFIRMED');
    await untilLiveSubscriptions(before + 3);
    expect(liveOnly.results).toEqual([]);

    await fulfil(orderId, 'shipOrder');
    await Promise.all([plain, fromStart, liveOnly].map((l) => l.untilStatus('SHIPPED')));
    await fulfil(orderId, 'deliverOrder');
    for (const live of [plain, fromStart, liveOnly]) expect(await live.ended()).toEqual({ kind: 'complete' });

    expect(plain.statuses).toEqual(['CONFIRMED', 'SHIPPED', 'DELIVERED']);
    expect(fromStart.statuses).toEqual(LIFECYCLE.slice(1));
    expect(liveOnly.statuses).toEqual(['SHIPPED', 'DELIVERED']);
    expect(liveOnly.orders.map((o) => o.statusSequence)).toEqual([5, 6]);
    expectAsItWas([...plain.orders, ...fromStart.orders, ...liveOnly.orders]);
  });

  it('completes at once for an ended order resumed at its last sequence, catches up before it', async () => {
    const { customer, orderId } = await confirmedOrder();
    await fulfil(orderId, 'shipOrder');
    await fulfil(orderId, 'deliverOrder');

    const atEnd = watch(customer.token, { id: orderId, after: 6 });
    expect(await atEnd.ended()).toEqual({ kind: 'complete' });
    expect(atEnd.results).toEqual([]);

    const before = watch(customer.token, { id: orderId, after: 3 });
    expect(await before.ended()).toEqual({ kind: 'complete' });
    expect(before.statuses).toEqual(['CONFIRMED', 'SHIPPED', 'DELIVERED']);
    expectAsItWas(before.orders);
  });

  it('resumes without a read where the gateway follows the order for the same user, and reads for anyone else', async () => {
    const { customer, orderId } = await confirmedOrder();
    const before = await liveSubscriptions();
    const plain = watch(customer.token, { id: orderId });
    await plain.untilStatus('CONFIRMED');
    const reads = await resumeReads();

    const liveOnly = watch(customer.token, { id: orderId, after: 4 });
    const fromTwo = watch(customer.token, { id: orderId, after: 2 });
    await fromTwo.untilStatus('CONFIRMED');
    await untilLiveSubscriptions(before + 3);
    expect(await resumeReads()).toBe(reads);
    expect(fromTwo.statuses).toEqual(['PAYMENT_AUTHORIZED', 'CONFIRMED']);
    expect(liveOnly.results).toEqual([]);

    // A sequence this gateway has not heard of is read, and refused if the order has not reached it.
    const beyond = watch(customer.token, { id: orderId, after: 5 });
    // Rights are the reader's: someone else's order stays NOT_FOUND though the gateway follows it.
    const stranger = await client.registerCustomer();
    const foreign = watch(stranger.token, { id: orderId, after: 1 });
    for (const live of [beyond, foreign]) expect((await live.ended()).kind).toBe('error');
    expect(codes(beyond)).toEqual(['BAD_USER_INPUT']);
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(foreign.results).toEqual([]);
    expect(await resumeReads()).toBe(reads + 2);

    await fulfil(orderId, 'shipOrder');
    await fulfil(orderId, 'deliverOrder');
    for (const live of [plain, liveOnly, fromTwo]) expect(await live.ended()).toEqual({ kind: 'complete' });
    expect(liveOnly.orders.map((o) => o.statusSequence)).toEqual([5, 6]);
    expect(fromTwo.statuses).toEqual(['PAYMENT_AUTHORIZED', 'CONFIRMED', 'SHIPPED', 'DELIVERED']);
    expectAsItWas([...liveOnly.orders, ...fromTwo.orders]);
  });

  it('refuses a negative sequence or one the order has not reached with BAD_USER_INPUT', async () => {
    const { customer, orderId } = await confirmedOrder();
    const negative = watch(customer.token, { id: orderId, after: -1 });
    const beyond = watch(customer.token, { id: orderId, after: 5 });
    const stranger = await client.registerCustomer();
    const foreign = watch(stranger.token, { id: orderId, after: 1 });
    for (const live of [negative, beyond, foreign]) expect((await live.ended()).kind).toBe('error');
    expect(codes(negative)).toEqual(['BAD_USER_INPUT']);
    expect(codes(beyond)).toEqual(['BAD_USER_INPUT']);
    // Someone else's order stays NOT_FOUND, whatever the sequence: it reveals nothing.
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(negative.results).toEqual([]);
  });
});

describe('orderStatusChanged with afterSequence over Server-Sent Events', () => {
  it('catches up, then follows live changes until the end', async () => {
    const { customer, orderId } = await confirmedOrder();
    const streamUrl = `${system.urls.gateway!}/stream`;
    const live = subscribeSse(streamUrl, customer.token, { id: orderId, after: 2 }, RESUMABLE_SUBSCRIPTION);
    lives.push(live);
    await live.untilStatus('CONFIRMED');
    await fulfil(orderId, 'shipOrder');
    await live.untilStatus('SHIPPED');
    await fulfil(orderId, 'deliverOrder');
    expect(await live.ended()).toEqual({ kind: 'complete' });
    expect(live.statuses).toEqual(['PAYMENT_AUTHORIZED', 'CONFIRMED', 'SHIPPED', 'DELIVERED']);
    expectAsItWas(live.orders);

    const beyond = subscribeSse(streamUrl, customer.token, { id: orderId, after: 7 }, RESUMABLE_SUBSCRIPTION);
    lives.push(beyond);
    await beyond.ended();
    expect(codes(beyond)).toEqual(['BAD_USER_INPUT']);
  });
});
