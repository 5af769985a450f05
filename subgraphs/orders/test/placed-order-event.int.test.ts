// The PENDING status event carries the order as placed (items, names, prices, total), so a
// consumer such as notifications keeps its own copy instead of asking orders; later status
// events do not repeat it. Real PostgreSQL: the events are read from orders' outbox, the rows
// its relay publishes. The database is dropped afterwards whatever happens.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openDatabase, type MikroORM } from '../../../shared/db/database.ts';
import { validateMessage } from '../../../shared/contracts/index.ts';
import { dropTestResources } from '../../../test/support/system.ts';
import { testEnvironment } from '../../../test/support/subgraph.ts';
import { Order, OrderItem, OrderStatusChange, ProductCopy } from '../src/domain/order.entity.ts';
import { migrations } from '../src/migrations/index.ts';
import { applyProductChanged } from '../src/domain/catalog.ts';
import { cancelOrder, placeOrder } from '../src/domain/orders.ts';

const env = testEnvironment();
let orm: MikroORM | undefined;

const STEP_TIMEOUT_MS = 60_000;
const settings = {
  stepTimeoutMs: STEP_TIMEOUT_MS,
  // The catalogue is seeded through product events below: nothing is read through.
  productSource: () => Promise.reject(new Error('the catalogue copy should have every product')),
};

async function statusEvents(orderId: string): Promise<Record<string, unknown>[]> {
  const rows = await orm!.em
    .fork()
    .execute<{ payload: Record<string, unknown> }[]>(
      'select payload from outbox where subject = ? order by seq',
      [`orders.evt.status.${orderId}`],
    );
  return rows.map((row) => validateMessage('orders.evt.status', row.payload));
}

beforeAll(async () => {
  const config = env.config('orders');
  orm = await openDatabase({
    serverUrl: config.databaseUrl,
    databaseName: config.databaseName,
    entities: [Order, OrderItem, OrderStatusChange, ProductCopy],
    migrations,
    logger: env.logger,
  });
});

afterAll(async () => {
  const results = await Promise.allSettled([orm?.close()]);
  await dropTestResources(env.resources);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe('the order as placed on orders.evt.status', () => {
  test('PENDING carries items with names and unit prices and the total; later events do not', async () => {
    const [mug, tea] = [randomUUID(), randomUUID()];
    await orm!.em.fork().transactional(async (em) => {
      for (const [productId, sku, name, priceCents] of [
        [mug, 'MUG-1', 'Enamel mug', 1250],
        [tea, 'TEA-1', 'Green tea', 399],
      ] as const) {
        const event = { v: 1 as const, productId, sku, name, priceCents, currency: 'EUR', active: true };
        await applyProductChanged(em, { ...event, revision: 1 });
      }
    });
    const customerId = randomUUID();
    const order = await placeOrder(
      orm!.em.fork(),
      customerId,
      {
        items: [
          { productId: tea, quantity: 3 },
          { productId: mug, quantity: 2 },
        ],
        paymentMethod: 'pm_card_visa',
      },
      settings,
    );
    const customer = { userId: customerId, role: 'CUSTOMER' as const, token: '', expiresAt: 0 };
    await cancelOrder(orm!.em.fork(), order.id, customer, STEP_TIMEOUT_MS);

    const [pending, cancelled, ...rest] = await statusEvents(order.id);
    expect(rest).toEqual([]);
    expect(pending).toMatchObject({ status: 'PENDING', sequence: 1, customerId });
    expect(pending!.order).toEqual({
      items: [
        { productId: tea, name: 'Green tea', quantity: 3, unitPriceCents: 399 },
        { productId: mug, name: 'Enamel mug', quantity: 2, unitPriceCents: 1250 },
      ],
      amountCents: 3 * 399 + 2 * 1250,
      currency: 'EUR',
    });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', sequence: 2, reason: 'CANCELLED_BY_CUSTOMER' });
    expect(cancelled).not.toHaveProperty('order');
  });
});
