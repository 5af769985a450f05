// The one way an order's status changes: checked against the life cycle, recorded in the
// history, and announced on `orders.evt.status.<id>` in the same transaction (outbox).
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import { enqueue, type OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import type { Order } from './order.entity.ts';
import { deferrable } from '../../../../shared/db/pipelined-client.ts';
import { query } from '../../../../shared/db/statements.ts';
import { IN_FLIGHT_STATUSES, assertTransition, type OrderStatus } from './order-status.ts';

export function statusEvent(order: Order, at: Date): OutgoingMessage<'orders.evt.status'> {
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
    },
  };
}

/** Orders a transaction has already locked with `lockOrders`, by id. */
const lockedBefore = new WeakMap<EntityManager, Map<string, Order>>();

// Order rows are read and written here with plain SQL, not through the unit of work: every saga
// step locks and changes an order, and the ORM's finds, hydration and change-set computation
// were the largest part of the orders service's CPU under load. What these functions return
// are plain objects with the entity's fields. Apart from placeOrder's insert, nothing else
// writes an order row.
const ORDER_COLUMNS = `id, customer_id, status, failure_reason, total_cents, currency, payment_method,
  idempotency_key, status_sequence, step_deadline, stock_committed, payment_captured, created_at, updated_at`;

interface OrderRecord {
  id: string;
  customer_id: string;
  status: Order['status'];
  failure_reason: string | null;
  total_cents: number;
  currency: string;
  payment_method: string;
  idempotency_key: string | null;
  status_sequence: number;
  step_deadline: string | null;
  stock_committed: boolean;
  payment_captured: boolean;
  created_at: string;
  updated_at: string;
}

const orderOf = (r: OrderRecord): Order =>
  ({
    id: r.id,
    customerId: r.customer_id,
    status: r.status,
    failureReason: r.failure_reason,
    totalCents: r.total_cents,
    currency: r.currency,
    paymentMethod: r.payment_method,
    idempotencyKey: r.idempotency_key,
    statusSequence: r.status_sequence,
    stepDeadline: r.step_deadline === null ? null : new Date(r.step_deadline),
    stockCommitted: r.stock_committed,
    paymentCaptured: r.payment_captured,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  }) as Order;

/**
 * Locks several orders for update in one statement, in id order, so that two transactions
 * locking overlapping sets never wait on each other in a cycle. `lockOrder` in the same
 * transaction then needs no statement of its own for them.
 */
export async function lockOrders(em: EntityManager, ids: readonly string[]): Promise<void> {
  const wanted = [...new Set(ids.filter(isUuid))];
  if (wanted.length === 0) return;
  const rows = await query<OrderRecord>(
    em,
    `select ${ORDER_COLUMNS} from orders where id = any(?::uuid[]) order by id for update`,
    [wanted],
  );
  const locked = lockedBefore.get(em) ?? new Map<string, Order>();
  for (const row of rows) locked.set(row.id, orderOf(row));
  lockedBefore.set(em, locked);
}

/** Loads the order locked for update: changes to one order are serialized. */
export async function lockOrder(em: EntityManager, id: string): Promise<Order | null> {
  // A malformed id cannot exist, and must not reach PostgreSQL as a malformed uuid (a 500).
  if (!isUuid(id)) return null;
  const before = lockedBefore.get(em)?.get(id);
  if (before) return before;
  const [row] = await query<OrderRecord>(em, `select ${ORDER_COLUMNS} from orders where id = ? for update`, [
    id,
  ]);
  return row ? orderOf(row) : null;
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
  // The row and its history in one statement. Nobody reads its result in this transaction,
  // so it travels with the next statement (see pipelined-client.ts).
  await query(
    em,
    deferrable(
      `with changed as (
         update orders set status = ?, status_sequence = ?, failure_reason = ?, step_deadline = ?::timestamptz,
                stock_committed = ?, payment_captured = ?, updated_at = ?::timestamptz
          where id = ?)
       insert into order_status_changes (order_id, sequence, status, reason, at)
       values (?, ?, ?, ?, ?::timestamptz)`,
    ),
    [
      to,
      order.statusSequence,
      order.failureReason ?? null,
      order.stepDeadline?.toISOString() ?? null,
      order.stockCommitted,
      order.paymentCaptured,
      at.toISOString(),
      order.id,
      order.id,
      order.statusSequence,
      to,
      options.reason ?? null,
      at.toISOString(),
    ],
  );
  await enqueue(em, [statusEvent(order, at), ...(options.messages ?? [])]);
}

/** Saves the two halves of confirmation (set on `order`) when no status change does. */
export async function saveConfirmationProgress(em: EntityManager, order: Order): Promise<void> {
  await query(em, deferrable('update orders set stock_committed = ?, payment_captured = ? where id = ?'), [
    order.stockCommitted,
    order.paymentCaptured,
    order.id,
  ]);
}
