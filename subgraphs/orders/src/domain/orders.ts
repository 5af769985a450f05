// Placing and moving orders on behalf of people (the saga moves them on behalf of services, in
// ../saga/). Knows nothing of GraphQL.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Identity } from '../../../../shared/auth/identity.ts';
import { NotFoundError } from '../../../../shared/errors.ts';
import { withOutbox, type OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import { query } from '../../../../shared/db/statements.ts';
import { Order } from './order.entity.ts';
import { loadCatalog, type ProductSource } from './catalog.ts';
import {
  normalizeLines,
  priceLines,
  validateIdempotencyKey,
  validatePaymentMethod,
  type PricedLine,
  type RequestedLine,
} from './pricing.ts';
import { assertCancellable, compensationsFor } from './order-status.ts';
import { changeStatus, lockOrder, statusEvent } from './status-change.ts';

export interface PlaceOrderInput {
  readonly items: readonly RequestedLine[];
  readonly paymentMethod: string;
  readonly idempotencyKey?: string | null;
}

export interface OrderSettings {
  readonly stepTimeoutMs: number;
  readonly productSource: ProductSource;
}

/** Returns the new order, PENDING, with the reservation command on its way; or the earlier order for the same key. */
export async function placeOrder(
  em: EntityManager,
  customerId: string,
  input: PlaceOrderInput,
  settings: OrderSettings,
): Promise<Order> {
  const idempotencyKey = validateIdempotencyKey(input.idempotencyKey);
  const paymentMethod = validatePaymentMethod(input.paymentMethod);
  const lines = normalizeLines(input.items);
  if (idempotencyKey) {
    const earlier = await em.findOne(Order, { customerId, idempotencyKey });
    if (earlier) return earlier;
  }
  const catalog = await loadCatalog(
    em,
    lines.map((l) => l.productId),
    settings.productSource,
  );
  const priced = priceLines(lines, catalog);
  const now = new Date();
  const order = em.create(
    Order,
    {
      id: crypto.randomUUID(),
      customerId,
      status: 'PENDING',
      totalCents: priced.totalCents,
      currency: priced.currency,
      paymentMethod,
      idempotencyKey,
      statusSequence: 1,
      stepDeadline: new Date(now.getTime() + settings.stepTimeoutMs),
      stockCommitted: false,
      paymentCaptured: false,
      createdAt: now,
      updatedAt: now,
    },
    // Written below in one statement, not by the unit of work.
    { persist: false },
  );
  const insert = withOutbox(newOrderRows(order, priced.lines), [
    statusEvent(order, now),
    {
      subject: 'inventory.cmd.reserve',
      payload: {
        v: 1,
        orderId: order.id,
        items: priced.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
      },
    },
  ]);
  try {
    // The order, its lines, its first history entry and its messages, in one atomic statement:
    // one round trip where a transaction took seven.
    await query(em, insert.sql, insert.params);
    return order;
  } catch (err) {
    // Two requests with the same key raced: the other one won; answer with its order.
    if (idempotencyKey && (err as { constraint?: unknown }).constraint === 'orders_idempotency') {
      return em.fork().findOneOrFail(Order, { customerId, idempotencyKey });
    }
    throw err;
  }
}

/** The rows of a new order, as data-modifying common table expressions. */
function newOrderRows(order: Order, lines: readonly PricedLine[]) {
  return [
    {
      sql: `new_order as (
        insert into orders (id, customer_id, status, total_cents, currency, payment_method, idempotency_key,
                            status_sequence, step_deadline, stock_committed, payment_captured, created_at, updated_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?::timestamptz, false, false, ?::timestamptz, ?::timestamptz))`,
      params: [
        order.id,
        order.customerId,
        order.status,
        order.totalCents,
        order.currency,
        order.paymentMethod,
        order.idempotencyKey,
        order.statusSequence,
        order.stepDeadline!.toISOString(),
        order.createdAt.toISOString(),
        order.updatedAt.toISOString(),
      ],
    },
    {
      sql: `new_items as (
        insert into order_items (order_id, position, product_id, product_name, quantity, unit_price_cents, currency)
        select ?, position, product_id, product_name, quantity, unit_price_cents, currency
          from jsonb_to_recordset(?::jsonb) as l (position int, product_id uuid, product_name text,
                                                 quantity int, unit_price_cents int, currency text))`,
      params: [
        order.id,
        JSON.stringify(
          lines.map((line, position) => ({
            position,
            product_id: line.productId,
            product_name: line.productName,
            quantity: line.quantity,
            unit_price_cents: line.unitPriceCents,
            currency: line.currency,
          })),
        ),
      ],
    },
    {
      sql: `new_history as (
        insert into order_status_changes (order_id, sequence, status, reason, at)
        values (?, 1, ?, null, ?::timestamptz))`,
      params: [order.id, order.status, order.createdAt.toISOString()],
    },
  ];
}

/** The order if `who` may see it; otherwise the same NOT_FOUND as for an order that does not exist. */
function assertVisible(order: Order | null, id: string, who: Identity): Order {
  if (!order || (who.role !== 'ADMIN' && order.customerId !== who.userId))
    throw new NotFoundError('Order', id);
  return order;
}

export async function cancelOrder(
  em: EntityManager,
  id: string,
  who: Identity,
  stepTimeoutMs: number,
): Promise<Order> {
  return em.transactional(async (tx) => {
    const order = assertVisible(await lockOrder(tx, id), id, who);
    const by = who.role === 'ADMIN' && order.customerId !== who.userId ? 'ADMIN' : 'CUSTOMER';
    assertCancellable(order.status, by);
    const undo = compensationsFor(order.status, order);
    await changeStatus(tx, order, 'CANCELLED', {
      reason: by === 'ADMIN' ? 'CANCELLED_BY_ADMIN' : 'CANCELLED_BY_CUSTOMER',
      stepTimeoutMs,
      messages: undo.map((subject): OutgoingMessage => ({ subject, payload: { v: 1, orderId: order.id } })),
    });
    return order;
  });
}

export async function advanceFulfilment(
  em: EntityManager,
  id: string,
  to: 'SHIPPED' | 'DELIVERED',
  who: Identity,
  stepTimeoutMs: number,
): Promise<Order> {
  return em.transactional(async (tx) => {
    const order = assertVisible(await lockOrder(tx, id), id, who);
    await changeStatus(tx, order, to, { stepTimeoutMs });
    return order;
  });
}
