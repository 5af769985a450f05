// The orders subgraph on its own, over real HTTP on real PostgreSQL and NATS, called as the
// gateway calls it (a service token, the user's bearer token). A products subgraph of its own is
// the source of orders' product copy; the saga's other parties are played by this test, which
// publishes their replies on JetStream and waits for the messages orders sends back. One orders
// subgraph serves the whole file; every test places orders (and makes products) of its own.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { qualify } from '../../../shared/messaging/topology.ts';
import { dropTestResources } from '../../../test/support/system.ts';
import {
  callAsGateway,
  firstErrorExtensions,
  startTestUsers,
  testEnvironment,
  type SubgraphCall,
  type TestAccount,
  type TestUsers,
} from '../../../test/support/subgraph.ts';
import { logMessages, type MessageLog } from '../../../test/support/message-log.ts';
import { startProducts } from '../../products/src/server.ts';
import { startOrders } from '../src/server.ts';

const env = testEnvironment({ serviceSecret: true });
let users: TestUsers | undefined;
let products: RunningService | undefined;
let orders: RunningService | undefined;
let nc: NatsConnection | undefined;
let log: MessageLog | undefined;
let call: SubgraphCall;
let callProducts: SubgraphCall;
let alice: TestAccount;
let bob: TestAccount;
let admin = '';

beforeAll(async () => {
  users = await startTestUsers(env);
  admin = users.adminToken;
  products = await startProducts(env.config('products', users.jwksUrl), env.logger, { messaging: false });
  orders = await startOrders(
    { ...env.config('orders', users.jwksUrl), stepTimeoutMs: 120_000, productsUrls: [products.url] },
    env.logger,
  );
  call = callAsGateway(env, 'orders', orders.url);
  callProducts = callAsGateway(env, 'products', products.url);
  nc = await connect({ servers: env.resources.natsUrl });
  log = await logMessages(nc, env.id);
  [alice, bob] = await Promise.all([users.customer(), users.customer()]);
});

afterAll(async () => {
  log?.stop();
  const results = await Promise.allSettled([nc?.close(), orders?.stop(), products?.stop(), users?.stop()]);
  await dropTestResources(env.resources);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

// --- helpers ---

const ORDER_FIELDS = `id status failureReason statusSequence customer { id }
  total { amountCents currency }
  items { product { id } productName quantity unitPrice { amountCents currency } subtotal { amountCents } }
  history { status reason }`;
const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`;
const ORDER = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { id status failureReason history { status reason } } }`;

interface OrderData {
  id: string;
  status: string;
  failureReason: string | null;
  statusSequence: number;
  customer: { id: string };
  total: { amountCents: number; currency: string };
  items: {
    product: { id: string };
    productName: string;
    quantity: number;
    unitPrice: { amountCents: number; currency: string };
    subtotal: { amountCents: number };
  }[];
  history: { status: string; reason: string | null }[];
}

interface Line {
  productId: string;
  quantity: number;
}

/** A product in the products subgraph, made by the administrator; orders has not seen it yet. */
async function newProduct(name: string, priceCents: number, currency = 'USD'): Promise<string> {
  const sku = `SKU-${randomBytes(6).toString('hex').toUpperCase()}`;
  const result = await callProducts<{ createProduct: { id: string } }>(
    'mutation($input: ProductInput!) { createProduct(input: $input) { id } }',
    { input: { sku, name, priceCents, currency } },
    admin,
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createProduct.id;
}

async function updateProduct(id: string, input: Record<string, unknown>): Promise<void> {
  const result = await callProducts(
    'mutation($id: ID!, $input: ProductUpdate!) { updateProduct(id: $id, input: $input) { id } }',
    { id, input },
    admin,
  );
  expect(result.errors).toBeUndefined();
}

async function place(
  customer: TestAccount,
  items: Line[],
  extra: { idempotencyKey?: string } = {},
): Promise<OrderData> {
  const result = await call<{ placeOrder: OrderData }>(
    PLACE,
    { input: { items, paymentMethod: 'pm_card_visa', ...extra } },
    customer.token,
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.placeOrder;
}

/** Publishes a reply of inventory or payments on JetStream, as those services would. */
async function reply(subject: string, payload: Record<string, unknown>): Promise<void> {
  await jetstream(nc!).publish(qualify(env.id, subject), JSON.stringify({ v: 1, ...payload }));
}

const statusAnnounced = (orderId: string, status: string) =>
  log!.next((m) => m.subject === `orders.evt.status.${orderId}` && m.payload.status === status);

async function adminMutation(field: 'shipOrder' | 'deliverOrder', orderId: string): Promise<void> {
  const result = await call(`mutation($id: ID!) { ${field}(id: $id) { id } }`, { id: orderId }, admin);
  expect(result.errors).toBeUndefined();
}

const PATH = ['INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED', 'CONFIRMED', 'SHIPPED', 'DELIVERED'] as const;
type Reached = 'PENDING' | (typeof PATH)[number];

/** Moves a PENDING order along the saga (the test answering for inventory and payments), then fulfilment. */
async function advance(orderId: string, to: Reached): Promise<void> {
  for (const status of PATH.slice(0, PATH.indexOf(to as (typeof PATH)[number]) + 1)) {
    if (status === 'INVENTORY_RESERVED') await reply('inventory.evt.reserved', { orderId });
    if (status === 'PAYMENT_AUTHORIZED')
      await reply('payments.evt.authorized', { orderId, paymentId: randomUUID() });
    if (status === 'CONFIRMED') {
      await reply('inventory.evt.committed', { orderId });
      await reply('payments.evt.captured', { orderId });
    }
    if (status === 'SHIPPED') await adminMutation('shipOrder', orderId);
    if (status === 'DELIVERED') await adminMutation('deliverOrder', orderId);
    await statusAnnounced(orderId, status);
  }
}

type Canceller = 'its customer' | 'an administrator';
const tokenOf = (by: Canceller) => (by === 'an administrator' ? admin : alice.token);

const COMPENSATIONS = [
  'inventory.cmd.release',
  'inventory.cmd.restock',
  'payments.cmd.void',
  'payments.cmd.refund',
];

// --- placing orders ---

describe('placeOrder', () => {
  let usd: string;
  let usdToo: string;
  let eur: string;
  let withdrawn: string;
  beforeAll(async () => {
    [usd, usdToo, eur, withdrawn] = await Promise.all([
      newProduct('Plain', 500),
      newProduct('Other', 700),
      newProduct('Euro', 500, 'EUR'),
      newProduct('Withdrawn', 100),
    ]);
    await updateProduct(withdrawn, { active: false });
  });

  test('prices lines from the product copy, adds up lines of one product, and sends the reservation', async () => {
    const widget = await newProduct('Widget', 1250);
    const gadget = await newProduct('Gadget', 399);
    const order = await place(alice, [
      { productId: widget, quantity: 1 },
      { productId: gadget, quantity: 2 },
      { productId: widget.toUpperCase(), quantity: 2 },
    ]);
    expect(order).toMatchObject({
      status: 'PENDING',
      failureReason: null,
      statusSequence: 1,
      customer: { id: alice.id },
      total: { amountCents: 3 * 1250 + 2 * 399, currency: 'USD' },
      history: [{ status: 'PENDING', reason: null }],
    });
    expect(order.items).toEqual([
      {
        product: { id: widget },
        productName: 'Widget',
        quantity: 3,
        unitPrice: { amountCents: 1250, currency: 'USD' },
        subtotal: { amountCents: 3750 },
      },
      {
        product: { id: gadget },
        productName: 'Gadget',
        quantity: 2,
        unitPrice: { amountCents: 399, currency: 'USD' },
        subtotal: { amountCents: 798 },
      },
    ]);
    const reserve = await log!.next(
      (m) => m.subject === 'inventory.cmd.reserve' && m.payload.orderId === order.id,
    );
    expect(reserve.payload.items).toEqual([
      { productId: widget, quantity: 3 },
      { productId: gadget, quantity: 2 },
    ]);

    // The copy was read through once; a later price change reaches orders only by a product event
    // (products runs without messaging here), so the next order still costs what the copy says.
    await updateProduct(widget, { priceCents: 9999, name: 'Renamed' });
    const later = await place(alice, [{ productId: widget, quantity: 1 }]);
    expect(later.total).toEqual({ amountCents: 1250, currency: 'USD' });
    expect(later.items[0]!.productName).toBe('Widget');
  });

  const badOrders: [string, () => Record<string, unknown>][] = [
    ['input.items', () => ({ items: [] })],
    ['input.items[0].productId', () => ({ items: [{ productId: 'not-a-uuid', quantity: 1 }] })],
    [
      'input.items[1].quantity',
      () => ({
        items: [
          { productId: usd, quantity: 1 },
          { productId: usdToo, quantity: 0 },
        ],
      }),
    ],
    ['input.items[0].quantity', () => ({ items: [{ productId: usd, quantity: 10_001 }] })],
    [
      'input.items[1].quantity',
      () => ({
        items: [
          { productId: usd, quantity: 6000 },
          { productId: usd, quantity: 5000 },
        ],
      }),
    ],
    ['input.items[0].productId', () => ({ items: [{ productId: randomUUID(), quantity: 1 }] })],
    ['input.items[0].productId', () => ({ items: [{ productId: withdrawn, quantity: 1 }] })],
    [
      'input.items',
      () => ({
        items: [
          { productId: usd, quantity: 1 },
          { productId: eur, quantity: 1 },
        ],
      }),
    ],
    ['input.paymentMethod', () => ({ paymentMethod: 'pm card visa' })],
    ['input.idempotencyKey', () => ({ idempotencyKey: '' })],
    ['input.idempotencyKey', () => ({ idempotencyKey: 'k'.repeat(256) })],
  ];
  test.each(badOrders)('a bad %s is BAD_USER_INPUT naming it, and no order (case %#)', async (field, bad) => {
    const input = { items: [{ productId: usd, quantity: 1 }], paymentMethod: 'pm_card_visa', ...bad() };
    const customer = await users!.customer();
    const result = await call(PLACE, { input }, customer.token);
    expect(result.data ?? null).toBeNull();
    expect(firstErrorExtensions(result)).toEqual({ code: 'BAD_USER_INPUT', field });
    const mine = await call<{ myOrders: { totalCount: number } }>(
      '{ myOrders { totalCount } }',
      {},
      customer.token,
    );
    expect(mine.data!.myOrders.totalCount).toBe(0);
  });

  test('an idempotency key gives its customer one order, even when requests race; another customer gets their own', async () => {
    const [carol, dave] = await Promise.all([users!.customer(), users!.customer()]);
    const items = [{ productId: usd, quantity: 2 }];
    const idempotencyKey = randomUUID();
    const raced = await Promise.all(Array.from({ length: 4 }, () => place(carol, items, { idempotencyKey })));
    expect(new Set(raced.map((o) => o.id)).size).toBe(1);
    expect((await place(carol, items, { idempotencyKey })).id).toBe(raced[0]!.id);
    const davesOrder = await place(dave, items, { idempotencyKey });
    expect(davesOrder.id).not.toBe(raced[0]!.id);
    const count = (account: TestAccount) =>
      call<{ myOrders: { totalCount: number } }>('{ myOrders { totalCount } }', {}, account.token);
    expect((await count(carol)).data!.myOrders.totalCount).toBe(1);
    expect((await count(dave)).data!.myOrders.totalCount).toBe(1);
    // And without a key, the same basket is another order.
    await place(carol, items);
    expect((await count(carol)).data!.myOrders.totalCount).toBe(2);
  });

  test('anonymous callers are UNAUTHENTICATED', async () => {
    const result = await call(PLACE, {
      input: { items: [{ productId: usd, quantity: 1 }], paymentMethod: 'pm_card_visa' },
    });
    expect(firstErrorExtensions(result).code).toBe('UNAUTHENTICATED');
  });
});

// --- reading orders ---

describe('who may read an order', () => {
  let product: string;
  beforeAll(async () => {
    product = await newProduct('Readable', 250);
  });

  test('its customer and administrators read it; to another customer it does not exist', async () => {
    const order = await place(alice, [{ productId: product, quantity: 1 }]);
    for (const token of [alice.token, admin]) {
      expect((await call<{ order: OrderData }>(ORDER, { id: order.id }, token)).data!.order).toEqual(order);
    }
    expect(await call(ORDER, { id: order.id }, bob.token)).toEqual({ data: { order: null } });
    expect(await call(ORDER, { id: randomUUID() }, admin)).toEqual({ data: { order: null } });
    expect(firstErrorExtensions(await call(ORDER, { id: order.id })).code).toBe('UNAUTHENTICATED');
  });

  test('through _entities, as payments and the gateway reach it: FORBIDDEN to another customer', async () => {
    const order = await place(alice, [{ productId: product, quantity: 4 }]);
    const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status total { amountCents } } } }`;
    const r = [{ __typename: 'Order', id: order.id }];
    const expected = { _entities: [{ id: order.id, status: 'PENDING', total: { amountCents: 1000 } }] };
    expect(await call(entities, { r }, alice.token)).toEqual({ data: expected });
    expect(await call(entities, { r }, admin)).toEqual({ data: expected });

    const asBob = await call<{ _entities: unknown[] }>(entities, { r }, bob.token);
    expect(asBob.data!._entities).toEqual([null]);
    expect(asBob.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);

    const userOrders = `query($r: [_Any!]!) {
      _entities(representations: $r) { ... on User { orders { edges { node { id } } } } } }`;
    const aliceRef = [{ __typename: 'User', id: alice.id }];
    const byAdmin = await call<{ _entities: { orders: { edges: { node: { id: string } }[] } }[] }>(
      userOrders,
      { r: aliceRef },
      admin,
    );
    expect(byAdmin.data!._entities[0]!.orders.edges.map((e) => e.node.id)).toContain(order.id);
    const byBob = await call(userOrders, { r: aliceRef }, bob.token);
    expect(byBob.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  test('myOrders pages the own orders newest first, and refuses a cursor it did not make', async () => {
    const erin = await users!.customer();
    const placed: string[] = [];
    for (let i = 0; i < 3; i += 1) placed.push((await place(erin, [{ productId: product, quantity: 1 }])).id);
    const page = `query($after: String) { myOrders(first: 2, after: $after) {
      edges { node { id } } pageInfo { hasNextPage endCursor } totalCount } }`;
    interface Page {
      myOrders: {
        edges: { node: { id: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
        totalCount: number;
      };
    }
    const first = (await call<Page>(page, {}, erin.token)).data!.myOrders;
    expect(first.edges.map((e) => e.node.id)).toEqual([placed[2], placed[1]]);
    expect(first).toMatchObject({ pageInfo: { hasNextPage: true }, totalCount: 3 });
    const second = (await call<Page>(page, { after: first.pageInfo.endCursor }, erin.token)).data!.myOrders;
    expect(second.edges.map((e) => e.node.id)).toEqual([placed[0]]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const forged = await call(page, { after: Buffer.from('["x","y"]').toString('base64url') }, erin.token);
    expect(firstErrorExtensions(forged)).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

// --- the order's life: history, fulfilment, cancellation ---

describe('status history and cancelOrder', () => {
  let product: string;
  beforeAll(async () => {
    product = await newProduct('Lifecycle', 900);
  });
  const newOrder = async (at: Reached = 'PENDING') => {
    const order = await place(alice, [{ productId: product, quantity: 1 }]);
    await advance(order.id, at);
    return order.id;
  };

  test('the history holds every status oldest first; orderAt shows the order as it was then', async () => {
    const id = await newOrder('DELIVERED');
    const order = (await call<{ order: OrderData }>(ORDER, { id }, alice.token)).data!.order;
    expect(order).toMatchObject({ status: 'DELIVERED', statusSequence: 6 });
    expect(order.history.map((c) => c.status)).toEqual(['PENDING', ...PATH]);

    const then = await call(
      'query($id: ID!, $s: Int!) { orderAt(id: $id, sequence: $s) { status statusSequence history { status } } }',
      { id, s: 2 },
      alice.token,
    );
    expect(then).toEqual({
      data: {
        orderAt: {
          status: 'INVENTORY_RESERVED',
          statusSequence: 2,
          history: [{ status: 'PENDING' }, { status: 'INVENTORY_RESERVED' }],
        },
      },
    });
  });

  test('fulfilment is for administrators and follows the life cycle', async () => {
    const id = await newOrder('CONFIRMED');
    const byCustomer = await call('mutation($id: ID!) { shipOrder(id: $id) { id } }', { id }, alice.token);
    expect(firstErrorExtensions(byCustomer).code).toBe('FORBIDDEN');
    const tooEarly = await call('mutation($id: ID!) { deliverOrder(id: $id) { id } }', { id }, admin);
    expect(firstErrorExtensions(tooEarly)).toMatchObject({
      code: 'CONFLICT',
      from: 'CONFIRMED',
      to: 'DELIVERED',
    });
  });

  // [status when cancelled, who cancels, the compensations sent]
  const allowed: [Reached, Canceller, string[]][] = [
    ['PENDING', 'its customer', ['inventory.cmd.release']],
    ['INVENTORY_RESERVED', 'its customer', ['inventory.cmd.release', 'payments.cmd.void']],
    ['PAYMENT_AUTHORIZED', 'an administrator', ['inventory.cmd.release', 'payments.cmd.void']],
    ['CONFIRMED', 'its customer', ['inventory.cmd.restock', 'payments.cmd.refund']],
    ['SHIPPED', 'an administrator', ['inventory.cmd.restock', 'payments.cmd.refund']],
  ];
  test.each(allowed)('a %s order cancelled by %s: CANCELLED, and every hold undone', async (at, by, undo) => {
    const id = await newOrder(at);
    const result = await call<{ cancelOrder: OrderData }>(CANCEL, { id }, tokenOf(by));
    expect(result.errors).toBeUndefined();
    const reason = by === 'an administrator' ? 'CANCELLED_BY_ADMIN' : 'CANCELLED_BY_CUSTOMER';
    expect(result.data!.cancelOrder).toMatchObject({ id, status: 'CANCELLED', failureReason: reason });
    expect(result.data!.cancelOrder.history.at(-1)).toEqual({ status: 'CANCELLED', reason });

    await statusAnnounced(id, 'CANCELLED');
    for (const subject of undo) await log!.next((m) => m.subject === subject && m.payload.orderId === id);
    const sent = log!.seen((m) => COMPENSATIONS.includes(m.subject) && m.payload.orderId === id);
    expect(new Set(sent.map((m) => m.subject))).toEqual(new Set(undo));
  });

  const refused: [Reached | 'CANCELLED', Canceller][] = [
    ['SHIPPED', 'its customer'],
    ['DELIVERED', 'an administrator'],
    ['CANCELLED', 'an administrator'],
  ];
  test.each(refused)(
    'a %s order cannot be cancelled by %s: CONFLICT, and nothing changes',
    async (at, by) => {
      const id = await newOrder(at === 'CANCELLED' ? 'PENDING' : at);
      if (at === 'CANCELLED') expect((await call(CANCEL, { id }, alice.token)).errors).toBeUndefined();
      const before = (await call<{ order: OrderData }>(ORDER, { id }, admin)).data!.order;
      const result = await call(CANCEL, { id }, tokenOf(by));
      expect(result.data ?? null).toBeNull();
      expect(firstErrorExtensions(result)).toMatchObject({ code: 'CONFLICT', from: at });
      expect((await call<{ order: OrderData }>(ORDER, { id }, admin)).data!.order).toEqual(before);
    },
  );

  test("another customer's order cannot be cancelled: NOT_FOUND, as for one that does not exist", async () => {
    const id = await newOrder();
    for (const target of [id, randomUUID(), 'not-a-uuid']) {
      const result = await call(CANCEL, { id: target }, bob.token);
      expect(firstErrorExtensions(result).code).toBe('NOT_FOUND');
    }
    expect(firstErrorExtensions(await call(CANCEL, { id })).code).toBe('UNAUTHENTICATED');
    expect((await call<{ order: OrderData }>(ORDER, { id }, alice.token)).data!.order.status).toBe('PENDING');
  });
});
