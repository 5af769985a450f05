// The saga, orchestrated by orders: each reply from inventory or payments moves the order one
// step and sends the next command, in the same transaction (outbox) and under the order's row
// lock. A reply that arrives after the order was cancelled is answered with its compensation,
// so every hold is undone however late the reply comes. What each step sends, which replies
// move it where and what undoes it is declared in steps.ts; this file only interprets it.
import type { EntityManager } from '@mikro-orm/postgresql';
import { enqueue } from '../../../../shared/messaging/outbox.ts';
import type { HandlerMap } from '../../../../shared/messaging/consumer.ts';
import type { Logger } from '../../../../shared/logger.ts';
import { changeStatus, lockOrder, lockOrders, saveConfirmationProgress } from '../domain/status-change.ts';
import type { Order } from '../domain/order.entity.ts';
import { applyProductChanged } from '../domain/catalog.ts';
import {
  SAGA_REPLIES,
  outcomeOf,
  compensationsFor,
  orderCommand,
  ruleFor,
  stepRunningIn,
  type Compensation,
  type ReplyRow,
  type SagaReply,
} from './steps.ts';

export interface SagaSettings {
  readonly stepTimeoutMs: number;
  readonly logger: Logger;
  /** Called when an order reaches a final status of its saga (CONFIRMED or CANCELLED). */
  readonly onSettled?: (order: Order) => void;
}

export function createSaga(settings: SagaSettings) {
  const { stepTimeoutMs, logger } = settings;

  /** Runs `react` on the locked order; an event for an order this service never had is logged and dropped. */
  async function withOrder(
    em: EntityManager,
    orderId: string,
    react: (order: Order) => Promise<void>,
  ): Promise<void> {
    const order = await lockOrder(em, orderId);
    if (!order) {
      logger.warn({ orderId }, 'saga event for an unknown order; ignored');
      return;
    }
    await react(order);
  }

  async function cancel(
    em: EntityManager,
    order: Order,
    reason: string,
    undo: readonly Compensation[],
  ): Promise<void> {
    await changeStatus(em, order, 'CANCELLED', {
      reason,
      stepTimeoutMs,
      messages: undo.map((subject) => orderCommand(subject, order.id)),
    });
    settings.onSettled?.(order);
  }

  /** Carries out what the table says `row`'s reply does to the locked order (see steps.ts). */
  async function react(em: EntityManager, order: Order, row: ReplyRow, reason: string): Promise<void> {
    const { records, change, send } = outcomeOf(row, order, reason);
    if (records) Object.assign(order, records);
    if (change) {
      await changeStatus(em, order, change.to, {
        reason: change.reason,
        stepTimeoutMs,
        messages: change.messages,
      });
      // No step runs in CONFIRMED or CANCELLED: the saga is over.
      if (!stepRunningIn(change.to)) settings.onSettled?.(order);
      return;
    }
    if (records) await saveConfirmationProgress(em, order);
    if (send.length > 0) await enqueue(em, send);
  }

  /** The handler of one reply, its row looked up once; a row that does nothing needs no lock. */
  function replyHandler(reply: SagaReply) {
    const row = ruleFor(reply)!;
    const { records, advancesTo, failsWith, afterCancel } = row.rule;
    if (!records && !advancesTo && !failsWith && !afterCancel) return async () => undefined;
    return (em: EntityManager, payload: { orderId: string; reason?: string }) =>
      withOrder(em, payload.orderId, (order) => react(em, order, row, payload.reason ?? ''));
  }

  const handlers: HandlerMap = {
    ...(Object.fromEntries(SAGA_REPLIES.map((reply) => [reply, replyHandler(reply)])) as HandlerMap),
    // Low-stock alerts share inventory's event subjects (this consumer's filter); they are for
    // notifications, not the saga.
    'inventory.evt.stock_low': async () => undefined,
    'products.evt.product_changed': (em, event) => applyProductChanged(em, event),
  };

  /** A step that did not answer in time: cancel and undo whatever may have been done. */
  async function timeOut(em: EntityManager, orderId: string): Promise<void> {
    await withOrder(em, orderId, async (order) => {
      if (!order.stepDeadline || order.stepDeadline.getTime() > Date.now()) return;
      await cancel(em, order, 'TIMEOUT', compensationsFor(order.status, order));
    });
  }

  /** A message of this order's saga was dead-lettered: the saga cannot go on; end it. */
  async function abandon(em: EntityManager, orderId: string, reason: string): Promise<void> {
    await withOrder(em, orderId, async (order) => {
      // Only a running saga is ended; a settled order is left as it is.
      if (stepRunningIn(order.status)) await cancel(em, order, reason, compensationsFor(order.status, order));
    });
  }

  /** A batch of saga events locks all its orders at once, in id order (no deadlocks between batches). */
  async function prepareBatch(em: EntityManager, payloads: readonly unknown[]): Promise<void> {
    const ids = payloads.flatMap((p) => {
      const orderId = (p as { orderId?: unknown }).orderId;
      return typeof orderId === 'string' ? [orderId] : [];
    });
    await lockOrders(em, ids);
  }

  return { handlers, prepareBatch, timeOut, abandon };
}
export type Saga = ReturnType<typeof createSaga>;
