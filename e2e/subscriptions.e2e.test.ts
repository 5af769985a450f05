// Live order status through the gateway (issue 4): real graphql-ws and graphql-sse clients
// against the real gateway, with every process, PostgreSQL and NATS real.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client as WsClient } from 'graphql-ws';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents, type Loose } from './support/client.ts';
import { metricSum } from './support/metrics.ts';
import { LiveSubscription, subscribeSse, subscribeWs, wsClient } from './support/live.ts';

const SAGA = ['PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED', 'CONFIRMED'];

let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;
const sockets: WsClient[] = [];
const lives: LiveSubscription[] = [];

beforeAll(async () => {
  // Two gateways: any instance serves any subscriber (the last test uses the second one).
  system = await startTestSystem({
    instances: { gateway: 2 },
    // A group's current state starts newcomers for a minute here, so that a test can rely on it
    // however slow the machine (the default is a few seconds).
    env: { RATE_LIMIT_PER_MINUTE: '100000', SUBSCRIPTION_FIRST_STATE_MAX_AGE_MS: '60000' },
  });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
});

afterAll(async () => {
  for (const live of lives) live.close();
  await Promise.all(sockets.map((s) => s.dispose()));
  await events?.close();
  await system?.dispose();
});

function ws(token?: string, url = system.urls.gatewayWs!): WsClient {
  const socket = wsClient(url, token);
  sockets.push(socket);
  return socket;
}

function watch(socket: WsClient, orderId: string, query?: string): LiveSubscription {
  const live = subscribeWs(socket, { id: orderId }, query);
  lives.push(live);
  return live;
}

async function placedOrder(token: string, productId: string) {
  const response = await client.placeOrder(token, [{ productId, quantity: 2 }]);
  expect(response.errors).toBeUndefined();
  return response.data!.placeOrder.id;
}

async function confirmedOrder() {
  const product = await client.createProduct(admin, { priceCents: 700, stock: 50 });
  const customer = await client.registerCustomer();
  const orderId = await placedOrder(customer.token, product.id);
  expect((await events.until(orderId)).status).toBe('CONFIRMED');
  return { product, customer, orderId };
}

async function fulfil(orderId: string, step: 'shipOrder' | 'deliverOrder') {
  await client.data(`mutation($id: ID!) { ${step}(id: $id) { status } }`, { id: orderId }, admin);
}

/** Sequences strictly increasing by one, each event showing its own status as the last in its history. */
function expectContiguous(orders: Loose[]) {
  for (let i = 1; i < orders.length; i += 1) {
    expect(orders[i]!.statusSequence).toBe(orders[i - 1]!.statusSequence + 1);
  }
  for (const order of orders) {
    expect(order.history.at(-1).status).toBe(order.status);
    expect(order.history).toHaveLength(order.statusSequence);
  }
}

const metric = (name: string, ...labels: string[]) =>
  metricSum(system.process('gateway').baseUrl, name, ...labels);

describe('orderStatusChanged over graphql-ws', () => {
  it('streams every status of a new order in order, with cross-subgraph fields, until DELIVERED', async () => {
    const product = await client.createProduct(admin, { priceCents: 1250, stock: 10, name: 'Live lamp' });
    const customer = await client.registerCustomer();
    const orderId = await placedOrder(customer.token, product.id);
    const live = watch(ws(customer.token), orderId);

    await live.untilStatus('CONFIRMED');
    const orders = live.orders;
    // The first event is the state when the subscription started; from there, every change.
    expect(SAGA.slice(SAGA.indexOf(orders[0]!.status))).toEqual(live.statuses);
    expectContiguous(orders);
    const confirmed = orders.at(-1)!;
    expect(confirmed.history.map((h: Loose) => h.status)).toEqual(SAGA);
    for (const order of orders) {
      expect(order.id).toBe(orderId);
      expect(order.customer).toEqual({ id: customer.id, email: customer.email });
      expect(order.items).toEqual([
        {
          quantity: 2,
          product: { id: product.id, name: 'Live lamp', stock: { available: expect.any(Number) } },
        },
      ]);
      expect(order).toHaveProperty('payment');
    }
    expect(['AUTHORIZED', 'CAPTURED']).toContain(confirmed.payment.status);
    expect(live.ending).toBeUndefined();

    await fulfil(orderId, 'shipOrder');
    await live.untilStatus('SHIPPED');
    await fulfil(orderId, 'deliverOrder');
    expect(await live.ended()).toEqual({ kind: 'complete' });
    expect(live.statuses.slice(-3)).toEqual(['CONFIRMED', 'SHIPPED', 'DELIVERED']);
    expectContiguous(live.orders);
    expect(live.orders.at(-1)!.payment.status).toBe('CAPTURED');
  });

  it('starts with CONFIRMED for a confirmed order, then SHIPPED and DELIVERED, then completes', async () => {
    const { orderId, customer } = await confirmedOrder();
    const live = watch(ws(customer.token), orderId);
    await live.until((l) => l.results.length === 1, 'the current state');
    expect(live.statuses).toEqual(['CONFIRMED']);
    expect(live.orders[0]!.statusSequence).toBe(4);

    await fulfil(orderId, 'shipOrder');
    await live.untilStatus('SHIPPED');
    await fulfil(orderId, 'deliverOrder');
    expect(await live.ended()).toEqual({ kind: 'complete' });
    expect(live.statuses).toEqual(['CONFIRMED', 'SHIPPED', 'DELIVERED']);
    expectContiguous(live.orders);
  });

  it('ends a cancelled order with CANCELLED and its reason', async () => {
    const product = await client.createProduct(admin, { priceCents: 900, stock: 1 });
    const customer = await client.registerCustomer();
    const orderId = await placedOrder(customer.token, product.id); // 2 wanted, 1 in stock
    const live = watch(ws(customer.token), orderId);
    expect(await live.ended()).toEqual({ kind: 'complete' });
    expect(live.orders.at(-1)).toMatchObject({ status: 'CANCELLED', failureReason: 'OUT_OF_STOCK' });
  });

  it('lets an administrator watch any order', async () => {
    const { orderId, customer } = await confirmedOrder();
    const live = watch(ws(admin), orderId);
    await live.until((l) => l.results.length === 1, 'the current state');
    expect(live.orders[0]).toMatchObject({ status: 'CONFIRMED', customer: { email: customer.email } });
  });

  it("refuses another customer's order exactly like a missing one (NOT_FOUND)", async () => {
    const { orderId } = await confirmedOrder();
    const stranger = await client.registerCustomer();
    const socket = ws(stranger.token);
    const theirs = watch(socket, orderId);
    const missing = watch(socket, randomUUID());
    const malformed = watch(socket, 'orders.>');
    for (const live of [theirs, missing, malformed]) {
      const ending = await live.ended();
      expect(ending.kind).toBe('error');
      const errors = (ending as { error: Loose[] }).error;
      expect(errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
      expect(live.results).toEqual([]);
    }
    const messages = await Promise.all(
      [theirs, missing].map(async (l) => ((await l.ended()) as Loose).error[0].message),
    );
    expect(messages[0]!.replace(orderId, 'ID')).toBe(messages[1]!.replace(/[0-9a-f-]{36}/, 'ID'));
  });

  it('refuses an anonymous subscriber with UNAUTHENTICATED, and an invalid token with close 4401', async () => {
    const { orderId } = await confirmedOrder();
    const anonymous = watch(ws(), orderId);
    const ending = await anonymous.ended();
    expect((ending as { error: Loose[] }).error.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    const forged = watch(ws('not-a-jwt'), orderId);
    const closed = (await forged.ended()) as { kind: string; error: { code: number; reason: string } };
    expect(closed.kind).toBe('error');
    expect(closed.error.code).toBe(4401);
    expect(forged.results).toEqual([]);
  });

  it('refuses operations other than orderStatusChanged subscriptions with BAD_USER_INPUT', async () => {
    const customer = await client.registerCustomer();
    const live = new LiveSubscription((sink) =>
      ws(customer.token).subscribe({ query: '{ me { id } }' }, sink),
    );
    lives.push(live);
    const ending = (await live.ended()) as { error: Loose[] };
    expect(ending.error.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('keeps the client alias, fragments and variables, and hides its own fields', async () => {
    const { orderId } = await confirmedOrder();
    const query = `
      subscription Watch($order: ID!, $withItems: Boolean!) {
        ...Root
      }
      fragment Root on Subscription { mine: orderStatusChanged(orderId: $order) { ...Fields } }
      fragment Fields on Order { __seq: id status items @include(if: $withItems) { quantity } }`;
    const live = new LiveSubscription((sink) =>
      ws(admin).subscribe({ query, variables: { order: orderId, withItems: true } }, sink),
    );
    lives.push(live);
    await live.until((l) => l.results.length === 1, 'the current state');
    expect(live.results[0]).toEqual({
      data: { mine: { __seq: orderId, status: 'CONFIRMED', items: [{ quantity: 2 }] } },
    });
  });

  it('shares one NATS subscription and one execution per event between identical subscribers', async () => {
    const { orderId, customer } = await confirmedOrder();
    const feedsBefore = await metric('gateway_subscription_feeds');
    const executionsBefore = await metric('gateway_subscription_executions_total');
    const a = watch(ws(customer.token), orderId);
    const b = watch(ws(customer.token), orderId);
    await Promise.all([a, b].map((l) => l.until((x) => x.results.length === 1, 'the current state')));
    expect(await metric('gateway_subscription_feeds')).toBe(feedsBefore + 1);

    await fulfil(orderId, 'shipOrder');
    await Promise.all([a, b].map((l) => l.untilStatus('SHIPPED')));
    await fulfil(orderId, 'deliverOrder');
    await Promise.all([a, b].map((l) => l.ended()));
    expect(a.statuses).toEqual(['CONFIRMED', 'SHIPPED', 'DELIVERED']);
    expect(b.statuses).toEqual(a.statuses);
    expect(await metric('gateway_subscription_executions_total')).toBe(executionsBefore + 2);
    expect(await metric('gateway_subscription_feeds')).toBe(feedsBefore);
  });
});

describe('subscriptions starting together', () => {
  // (SUBSCRIPTION_FIRST_STATE_MAX_AGE_MS is a minute for this file's system: see beforeAll.)
  // The orders subgraph is frozen (SIGSTOP: it accepts connections and answers nothing) until
  // the gateway counts every subscription as starting, so all of them are waiting for a current
  // state at once, as after a gateway restart; then thawed (SIGCONT).
  async function startTogether(subscribe: () => LiveSubscription[]): Promise<LiveSubscription[]> {
    const starting = await metric('gateway_subscriptions_starting');
    const pid = system.process('orders').pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const started = subscribe();
      for (
        let now = starting;
        now < starting + started.length;
        now = await metric('gateway_subscriptions_starting')
      )
        await new Promise((resolve) => setTimeout(resolve, 10));
      process.kill(pid, 'SIGCONT');
      await Promise.all(
        started.map((l) =>
          l.until((x) => x.results.length === 1 || x.ending !== undefined, 'a first event or an end'),
        ),
      );
      return started;
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  it('share one current-state read per order and selection, one query per user, never a user with another', async () => {
    const product = await client.createProduct(admin, { priceCents: 300, stock: 50 });
    const ada = await client.registerCustomer();
    const bob = await client.registerCustomer();
    const [first, second, bobs] = await Promise.all([
      placedOrder(ada.token, product.id),
      placedOrder(ada.token, product.id),
      placedOrder(bob.token, product.id),
    ]);
    for (const id of [first!, second!, bobs!]) expect((await events.until(id)).status).toBe('CONFIRMED');
    const reads = await metric('gateway_subscription_first_state_reads_total');
    const queries = await metric('gateway_subscription_first_state_queries_total');
    const fetched = await metric('gateway_subgraph_fetches_total', 'subgraph="orders"');

    const [a1, a2, a3, a4, aSecond, bOwn, bAdas] = await startTogether(() => [
      ...Array.from({ length: 4 }, () => watch(ws(ada.token), first!)),
      watch(ws(ada.token), second!),
      watch(ws(bob.token), bobs!),
      // Bob asks for Ada's order at the same moment as Ada: he must not get her state.
      watch(ws(bob.token), first!),
    ]);

    for (const live of [a1!, a2!, a3!, a4!]) {
      expect(live.orders).toHaveLength(1);
      expect(live.orders[0]).toMatchObject({ id: first, status: 'CONFIRMED', customer: { id: ada.id } });
    }
    expect(aSecond!.orders[0]).toMatchObject({ id: second, status: 'CONFIRMED', customer: { id: ada.id } });
    expect(bOwn!.orders[0]).toMatchObject({ id: bobs, status: 'CONFIRMED', customer: { id: bob.id } });
    const refused = (await bAdas!.ended()) as { kind: string; error: Loose[] };
    expect(refused.error.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(bAdas!.results).toEqual([]);

    // One read for Ada's four subscribers of her first order, one for her second, one for each of
    // Bob's: his read of Ada's order is his own, not a share of hers.
    expect((await metric('gateway_subscription_first_state_reads_total')) - reads).toBe(4);
    // Ada's two reads may go in one query, Bob's two in another; Ada's and Bob's never in one.
    const sent = (await metric('gateway_subscription_first_state_queries_total')) - queries;
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(sent).toBeLessThanOrEqual(4);
    // Each query is one fetch from orders (in flight together, they would otherwise have shared
    // the gateway's subgraph fetches instead: those count here too).
    expect((await metric('gateway_subgraph_fetches_total', 'subgraph="orders"')) - fetched).toBe(sent);

    // A subscriber of Ada's that comes a little later starts from the state her group just read.
    const late = watch(ws(ada.token), first!);
    await late.until((l) => l.results.length === 1, 'the current state');
    expect(late.orders[0]).toMatchObject({ id: first, status: 'CONFIRMED', customer: { id: ada.id } });
    expect((await metric('gateway_subscription_first_state_reads_total')) - reads).toBe(4);

    // From there each follows its order as usual.
    await fulfil(first!, 'shipOrder');
    await Promise.all([a1, a2, a3, a4, late].map((l) => l!.untilStatus('SHIPPED')));
    for (const live of [a1!, a2!, a3!, a4!, late]) expect(live.statuses).toEqual(['CONFIRMED', 'SHIPPED']);
    expect(aSecond!.statuses).toEqual(['CONFIRMED']);
  });
});

describe('orderStatusChanged over Server-Sent Events', () => {
  it('streams the same events from /graphql/stream', async () => {
    const { orderId, customer } = await confirmedOrder();
    const streamUrl = `${system.urls.gateway!}/stream`;
    const live = subscribeSse(streamUrl, customer.token, { id: orderId });
    lives.push(live);
    await live.until((l) => l.results.length === 1, 'the current state');
    expect(live.orders[0]).toMatchObject({ status: 'CONFIRMED', customer: { email: customer.email } });
    await fulfil(orderId, 'shipOrder');
    await live.untilStatus('SHIPPED');
    await fulfil(orderId, 'deliverOrder');
    expect(await live.ended()).toEqual({ kind: 'complete' });
    expect(live.statuses).toEqual(['CONFIRMED', 'SHIPPED', 'DELIVERED']);
  });

  it('refuses anonymous and foreign subscribers with codes', async () => {
    const { orderId } = await confirmedOrder();
    const stranger = await client.registerCustomer();
    const streamUrl = `${system.urls.gateway!}/stream`;
    const anonymous = subscribeSse(streamUrl, undefined, { id: orderId });
    const foreign = subscribeSse(streamUrl, stranger.token, { id: orderId });
    lives.push(anonymous, foreign);
    await Promise.all([anonymous.ended(), foreign.ended()]);
    expect(anonymous.results.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(foreign.results.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(['NOT_FOUND']);
  });
});

describe('two gateway instances', () => {
  it('gives a client on either gateway every status of the same order, in order', async () => {
    const product = await client.createProduct(admin, { priceCents: 450, stock: 20 });
    const customer = await client.registerCustomer();
    const second = system.process('gateway#2').graphqlUrl.replace(/^http/, 'ws');
    expect(second).not.toBe(system.urls.gatewayWs);
    const orderId = await placedOrder(customer.token, product.id);
    const one = watch(ws(customer.token), orderId);
    const two = watch(ws(customer.token, second), orderId);
    await Promise.all([one, two].map((l) => l.untilStatus('CONFIRMED')));
    await fulfil(orderId, 'shipOrder');
    await fulfil(orderId, 'deliverOrder');
    await Promise.all([one, two].map((l) => l.ended()));
    for (const live of [one, two]) {
      expect(live.ending).toEqual({ kind: 'complete' });
      expectContiguous(live.orders);
      expect(live.statuses.slice(-3)).toEqual(['CONFIRMED', 'SHIPPED', 'DELIVERED']);
      const first = live.orders[0]!.statusSequence as number;
      expect(live.statuses).toEqual([...SAGA, 'SHIPPED', 'DELIVERED'].slice(first - 1));
    }
  });
});

describe('gateway shutdown', () => {
  it('closes subscribers with 1001 Going Away when a gateway stops', async () => {
    const { orderId, customer } = await confirmedOrder();
    const second = system.process('gateway#2').graphqlUrl.replace(/^http/, 'ws');
    const live = watch(ws(customer.token, second), orderId);
    await live.until((l) => l.results.length === 1, 'the current state');
    const exit = await system.kill('gateway#2', 'SIGTERM');
    expect(exit.code).toBe(0);
    const ending = (await live.ended()) as { kind: string; error: { code: number } };
    expect(ending.kind).toBe('error');
    expect(ending.error.code).toBe(1001);
  });
});
