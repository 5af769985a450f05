// The order saga through the gateway, with every process, PostgreSQL and NATS real: the
// acceptance points of the saga issue.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents } from './support/client.ts';

let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;

beforeAll(async () => {
  system = await startTestSystem({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
});

afterAll(async () => {
  await events?.close();
  await system?.dispose();
});

async function placed(
  token: string,
  items: { productId: string; quantity: number }[],
  card = 'pm_card_visa',
) {
  const response = await client.placeOrder(token, items, card);
  expect(response.errors).toBeUndefined();
  expect(response.data!.placeOrder.status).toBe('PENDING');
  return response.data!.placeOrder;
}

describe('the order saga', () => {
  it('confirms an order: stock deducted, payment captured for the total', async () => {
    const product = await client.createProduct(admin, { priceCents: 1250, stock: 10 });
    const customer = await client.registerCustomer();
    const order = await placed(customer.token, [{ productId: product.id, quantity: 3 }]);
    expect(order.total.amountCents).toBe(3750);

    await events.until(order.id);
    const view = await client.order(customer.token, order.id);
    expect(view!.status).toBe('CONFIRMED');
    expect(view!.history.map((h) => h.status)).toEqual([
      'PENDING',
      'INVENTORY_RESERVED',
      'PAYMENT_AUTHORIZED',
      'CONFIRMED',
    ]);
    expect(view!.payment).toEqual({ status: 'CAPTURED', amount: { amountCents: 3750, currency: 'USD' } });
    expect(view!.items).toEqual([
      {
        quantity: 3,
        unitPrice: { amountCents: 1250 },
        product: { id: product.id, name: expect.any(String) },
      },
    ]);
    expect(await client.stock(product.id)).toEqual({ available: 7, reserved: 0 });
  });

  it('cancels a declined payment and releases the reservation; nothing is captured', async () => {
    const product = await client.createProduct(admin, { priceCents: 500, stock: 4 });
    const customer = await client.registerCustomer();
    const order = await placed(
      customer.token,
      [{ productId: product.id, quantity: 2 }],
      'pm_card_chargeDeclined',
    );

    expect((await events.until(order.id)).status).toBe('CANCELLED');
    const view = await client.order(customer.token, order.id);
    expect(view!.failureReason).toBe('PAYMENT_DECLINED');
    expect(view!.history.map((h) => h.status)).toEqual(['PENDING', 'INVENTORY_RESERVED', 'CANCELLED']);
    expect(view!.payment?.status).toBe('DECLINED');
    // The release is a compensation sent with the cancellation: wait for inventory to apply it.
    await expect(eventually(() => client.stock(product.id))).resolves.toEqual({ available: 4, reserved: 0 });
  });

  it('cancels an order it cannot stock, before any payment', async () => {
    const product = await client.createProduct(admin, { priceCents: 999, stock: 1 });
    const customer = await client.registerCustomer();
    const order = await placed(customer.token, [{ productId: product.id, quantity: 2 }]);

    expect((await events.until(order.id)).status).toBe('CANCELLED');
    const view = await client.order(customer.token, order.id);
    expect(view!.failureReason).toBe('OUT_OF_STOCK');
    expect(view!.payment).toBeNull();
    expect(await client.stock(product.id)).toEqual({ available: 1, reserved: 0 });
  });

  it('restocks and refunds an order cancelled after confirmation', async () => {
    const product = await client.createProduct(admin, { priceCents: 2000, stock: 5 });
    const customer = await client.registerCustomer();
    const order = await placed(customer.token, [{ productId: product.id, quantity: 2 }]);
    expect((await events.until(order.id)).status).toBe('CONFIRMED');

    const cancelled = await client.data<{ cancelOrder: { status: string; failureReason: string } }>(
      'mutation($id: ID!) { cancelOrder(id: $id) { status failureReason } }',
      { id: order.id },
      customer.token,
    );
    expect(cancelled.cancelOrder).toEqual({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_CUSTOMER' });
    await expect(
      eventually(
        () => client.stock(product.id),
        (s) => s.available === 5,
      ),
    ).resolves.toEqual({
      available: 5,
      reserved: 0,
    });
    await expect(
      eventually(
        () => client.order(customer.token, order.id),
        (o) => o?.payment?.status === 'REFUNDED',
      ),
    ).resolves.toMatchObject({ payment: { status: 'REFUNDED', amount: { amountCents: 4000 } } });
  });

  it('retries a flaky payment provider and then confirms', async () => {
    const product = await client.createProduct(admin, { priceCents: 300, stock: 2 });
    const customer = await client.registerCustomer();
    const order = await placed(customer.token, [{ productId: product.id, quantity: 1 }], 'pm_card_flaky');
    expect((await events.until(order.id)).status).toBe('CONFIRMED');
  });

  it('cancels the order once a payment provider that keeps failing has exhausted its retries', async () => {
    const product = await client.createProduct(admin, { priceCents: 700, stock: 3 });
    const customer = await client.registerCustomer();
    const order = await placed(
      customer.token,
      [{ productId: product.id, quantity: 1 }],
      'pm_card_unavailable',
    );

    // Every delivery of the authorize fails; the last one is dead-lettered, which ends the saga.
    expect(await events.until(order.id)).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_FAILED' });
    const view = await client.order(customer.token, order.id);
    expect(view!.failureReason).toBe('PAYMENT_FAILED');
    expect(view!.payment).toBeNull();
    await expect(
      eventually(
        () => client.stock(product.id),
        (s) => s.available === 3,
      ),
    ).resolves.toEqual({
      available: 3,
      reserved: 0,
    });
  });

  it('sells exactly the stock there is to 40 customers racing for 5 units', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 5 });
    const customers = await Promise.all(Array.from({ length: 40 }, () => client.registerCustomer()));
    const results = await Promise.allSettled(
      customers.map((c) => placed(c.token, [{ productId: product.id, quantity: 1 }])),
    );
    const orders = results.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
    const outcomes = await Promise.all(orders.map((o) => events.until(o.id)));
    const confirmed = outcomes.filter((e) => e.status === 'CONFIRMED');
    const cancelled = outcomes.filter((e) => e.status === 'CANCELLED');
    expect(confirmed).toHaveLength(5);
    expect(cancelled).toHaveLength(35);
    expect(cancelled.every((e) => e.reason === 'OUT_OF_STOCK')).toBe(true);
    expect(await client.stock(product.id)).toEqual({ available: 0, reserved: 0 });
  });

  it('returns the same order for the same idempotency key', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 10 });
    const customer = await client.registerCustomer();
    const items = [{ productId: product.id, quantity: 1 }];
    const [a, b] = await Promise.all([
      client.placeOrder(customer.token, items, 'pm_card_visa', 'key-1'),
      client.placeOrder(customer.token, items, 'pm_card_visa', 'key-1'),
    ]);
    expect(a.data!.placeOrder.id).toBe(b.data!.placeOrder.id);
    const mine = await client.data<{ myOrders: { totalCount: number } }>(
      '{ myOrders { totalCount } }',
      {},
      customer.token,
    );
    expect(mine.myOrders.totalCount).toBe(1);
  });

  it('ships and delivers, and refuses what the life cycle forbids', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 10 });
    const customer = await client.registerCustomer();
    const order = await placed(customer.token, [{ productId: product.id, quantity: 1 }]);
    await events.until(order.id);

    const ship = 'mutation($id: ID!) { shipOrder(id: $id) { status } }';
    const deliver = 'mutation($id: ID!) { deliverOrder(id: $id) { status } }';
    const cancel = 'mutation($id: ID!) { cancelOrder(id: $id) { status } }';
    expect(await client.errorCode(ship, { id: order.id }, customer.token)).toBe('FORBIDDEN');
    expect(await client.errorCode(deliver, { id: order.id }, admin)).toBe('CONFLICT');
    expect((await client.data(ship, { id: order.id }, admin)).shipOrder.status).toBe('SHIPPED');
    expect(await client.errorCode(cancel, { id: order.id }, customer.token)).toBe('CONFLICT');
    expect((await client.data(deliver, { id: order.id }, admin)).deliverOrder.status).toBe('DELIVERED');
    expect(await client.errorCode(cancel, { id: order.id }, admin)).toBe('CONFLICT');

    const history = (await client.order(customer.token, order.id))!.history.map((h) => h.status);
    expect(history.slice(-2)).toEqual(['SHIPPED', 'DELIVERED']);
  });

  it('keeps other customers out of an order', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 10 });
    const owner = await client.registerCustomer();
    const other = await client.registerCustomer();
    const order = await placed(owner.token, [{ productId: product.id, quantity: 1 }]);
    expect(await client.order(other.token, order.id)).toBeNull();
    expect(
      await client.errorCode(
        'mutation($id: ID!) { cancelOrder(id: $id) { status } }',
        { id: order.id },
        other.token,
      ),
    ).toBe('NOT_FOUND');
    expect(await client.errorCode('query($id: ID!) { order(id: $id) { id } }', { id: order.id })).toBe(
      'UNAUTHENTICATED',
    );
    await events.until(order.id);
  });

  it('refuses bad orders with the field named', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 10 });
    const customer = await client.registerCustomer();
    const bad = async (items: { productId: string; quantity: number }[], card = 'pm_card_visa') => {
      const response = await client.placeOrder(customer.token, items, card);
      return response.errors?.[0]?.extensions;
    };
    expect(await bad([])).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.items' });
    expect(await bad([{ productId: product.id, quantity: 0 }])).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.items[0].quantity',
    });
    expect(await bad([{ productId: crypto.randomUUID(), quantity: 1 }])).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.items[0].productId',
    });
    expect(await bad([{ productId: 'x', quantity: 1 }])).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(
      await bad(Array.from({ length: 101 }, () => ({ productId: product.id, quantity: 1 }))),
    ).toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    const anonymous = await client.request(
      'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }',
      {
        i: { items: [{ productId: product.id, quantity: 1 }], paymentMethod: 'pm_card_visa' },
      },
    );
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Nothing was placed by any of these.
    const mine = await client.data<{ myOrders: { totalCount: number } }>(
      '{ myOrders { totalCount } }',
      {},
      customer.token,
    );
    expect(mine.myOrders.totalCount).toBe(0);
  });
});

/**
 * For effects that follow an event the test cannot observe directly (a compensation applied
 * by inventory or payments after the order's last status event): asks again until `done`.
 */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
