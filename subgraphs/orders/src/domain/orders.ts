// Placing and moving orders on behalf of people (the saga moves them on behalf of services, in
// ../saga/). Knows nothing of GraphQL.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Identity } from '../../../../shared/auth/identity.ts';
import { isAdmin, isOwnerOrAdmin } from '../../../../shared/auth/policies.ts';
import { NotFoundError } from '../../../../shared/errors.ts';
import { enqueue, type OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import type { CommitPublisher } from '../../../../shared/messaging/commit-publisher.ts';
import { transactionalPublishing } from '../../../../shared/messaging/publish-after-commit.ts';
import { insertOrder, type NewOrderItem } from './order.store.ts';
import { Order } from './order.entity.ts';
import { compensationsFor, reserveCommand } from '../saga/steps.ts';
import { loadCatalog, type ProductSource } from './catalog.ts';
import {
  normalizeLines,
  priceLines,
  validateIdempotencyKey,
  validatePaymentMethod,
  type PricedLine,
  type RequestedLine,
} from './pricing.ts';
import { assertCancellable } from './order-status.ts';
import { changeStatus, lockOrder, statusEvent, type PlacedOrder } from './status-change.ts';

export interface PlaceOrderInput {
  readonly items: readonly RequestedLine[];
  readonly paymentMethod: string;
  readonly idempotencyKey?: string | null;
}

export interface OrderSettings {
  readonly stepTimeoutMs: number;
  readonly productSource: ProductSource;
  /** Publishes a new order's messages right after its commit; without it, the outbox relay does. */
  readonly publisher?: CommitPublisher;
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
  const order: Order = {
    id: crypto.randomUUID(),
    customerId,
    status: 'PENDING',
    failureReason: null,
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
  };
  const reserve = reserveCommand(order.id, priced.lines);
  try {
    // The order with its lines and first history entry, then its messages: two statements that
    // nobody waits for, so the transaction is one round trip (see pipelined-client.ts). The
    // messages are published from here once it has committed, without waking the relay.
    await transactionalPublishing(em, settings.publisher, async (tx) => {
      await insertOrder(tx, order, orderItems(order.id, priced.lines));
      await enqueue(tx, [statusEvent(order, now, placedOrder(priced)), reserve]);
    });
    return order;
  } catch (err) {
    // Two requests with the same key raced: the other one won; answer with its order.
    if (idempotencyKey && (err as { constraint?: unknown }).constraint === 'orders_idempotency') {
      return em.fork().findOneOrFail(Order, { customerId, idempotencyKey });
    }
    throw err;
  }
}

/** What the PENDING event tells consumers (notifications) of the order, so they never ask orders. */
const placedOrder = (priced: ReturnType<typeof priceLines>): PlacedOrder => ({
  items: priced.lines.map((line) => ({
    productId: line.productId,
    name: line.productName,
    quantity: line.quantity,
    unitPriceCents: line.unitPriceCents,
  })),
  amountCents: priced.totalCents,
  currency: priced.currency,
});

const orderItems = (orderId: string, lines: readonly PricedLine[]): NewOrderItem[] =>
  lines.map((line, position) => ({
    orderId,
    position,
    productId: line.productId,
    productName: line.productName,
    quantity: line.quantity,
    unitPriceCents: line.unitPriceCents,
    currency: line.currency,
  }));

/** The order if `who` may see it; otherwise the same NOT_FOUND as for an order that does not exist. */
function assertVisible(order: Order | null, id: string, who: Identity): Order {
  if (!order || !isOwnerOrAdmin(who, order.customerId)) throw new NotFoundError('Order', id);
  return order;
}

/** What cancelling and fulfilment need of the settings: their messages go out right after the commit. */
export type ChangeSettings = Pick<OrderSettings, 'stepTimeoutMs' | 'publisher'>;

export async function cancelOrder(
  em: EntityManager,
  id: string,
  who: Identity,
  settings: ChangeSettings,
): Promise<Order> {
  return transactionalPublishing(em, settings.publisher, async (tx) => {
    const order = assertVisible(await lockOrder(tx, id), id, who);
    const by = isAdmin(who) && order.customerId !== who.userId ? 'ADMIN' : 'CUSTOMER';
    assertCancellable(order.status, by);
    const undo = compensationsFor(order.status, order);
    await changeStatus(tx, order, 'CANCELLED', {
      reason: by === 'ADMIN' ? 'CANCELLED_BY_ADMIN' : 'CANCELLED_BY_CUSTOMER',
      stepTimeoutMs: settings.stepTimeoutMs,
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
  settings: ChangeSettings,
): Promise<Order> {
  return transactionalPublishing(em, settings.publisher, async (tx) => {
    const order = assertVisible(await lockOrder(tx, id), id, who);
    await changeStatus(tx, order, to, { stepTimeoutMs: settings.stepTimeoutMs });
    return order;
  });
}
