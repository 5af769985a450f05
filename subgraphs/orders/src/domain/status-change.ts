// The one way an order's status changes: checked against the life cycle, recorded in the
// history, and announced on `orders.evt.status.<id>` in the same transaction (outbox).
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import { enqueue, type OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import type { Order } from './order.entity.ts';
import { lockOrderRow, lockOrderRows, saveConfirmationFlags, saveStatusChange } from './order.store.ts';
import { IN_FLIGHT_STATUSES, assertTransition, type OrderStatus } from './order-status.ts';

/** The order as placed, which only the PENDING event carries (contracts: `orders.evt.status`). */
export type PlacedOrder = NonNullable<PayloadOf<'orders.evt.status'>['order']>;

export function statusEvent(
  order: Order,
  at: Date,
  placed?: PlacedOrder,
): OutgoingMessage<'orders.evt.status'> {
  return {
    subject: 'orders.evt.status',
    subjectSuffix: order.id,
    payload: {
      v: 1,
      orderId: order.id,
      customerId: order.customerId,
      status: order.status,
      sequence: order.statusSequence,
      reason: order.failureReason ?? null,
      at: at.toISOString(),
      ...(placed && { order: placed }),
    },
  };
}

/** Orders a transaction has already locked with `lockOrders`, by id. */
const lockedBefore = new WeakMap<EntityManager, Map<string, Order>>();

/**
 * Locks several orders for update in one statement, in id order, so that two transactions
 * locking overlapping sets never wait on each other in a cycle. `lockOrder` in the same
 * transaction then needs no statement of its own for them.
 */
export async function lockOrders(em: EntityManager, ids: readonly string[]): Promise<void> {
  const wanted = [...new Set(ids.filter(isUuid))];
  if (wanted.length === 0) return;
  const locked = lockedBefore.get(em) ?? new Map<string, Order>();
  for (const order of await lockOrderRows(em, wanted)) locked.set(order.id, order);
  lockedBefore.set(em, locked);
}

/** Loads the order locked for update: changes to one order are serialized. */
export async function lockOrder(em: EntityManager, id: string): Promise<Order | null> {
  // A malformed id cannot exist, and must not reach PostgreSQL as a malformed uuid (a 500).
  if (!isUuid(id)) return null;
  return lockedBefore.get(em)?.get(id) ?? (await lockOrderRow(em, id)) ?? null;
}

export interface ChangeOptions {
  readonly reason?: string | null;
  /** The saga's next step must answer by then; none once it stops running. */
  readonly stepTimeoutMs: number;
  /** Commands and compensations caused by this change, sent with it. */
  readonly messages?: readonly OutgoingMessage[];
}

export async function changeStatus(
  em: EntityManager,
  order: Order,
  to: OrderStatus,
  options: ChangeOptions,
): Promise<void> {
  assertTransition(order.status, to);
  const at = new Date();
  order.status = to;
  order.statusSequence += 1;
  order.updatedAt = at;
  if (to === 'CANCELLED') order.failureReason = options.reason ?? null;
  order.stepDeadline = IN_FLIGHT_STATUSES.includes(to)
    ? new Date(at.getTime() + options.stepTimeoutMs)
    : null;
  // Nobody reads its result in this transaction, so it travels with the next statement.
  await saveStatusChange(em, order, { status: to, reason: options.reason ?? null, at });
  await enqueue(em, [statusEvent(order, at), ...(options.messages ?? [])]);
}

/** Saves the two halves of confirmation (set on `order`) when no status change does. */
export async function saveConfirmationProgress(em: EntityManager, order: Order): Promise<void> {
  await saveConfirmationFlags(em, order);
}
