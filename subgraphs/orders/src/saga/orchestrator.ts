// The saga, orchestrated by orders: each reply from inventory or payments moves the order one
// step and sends the next command, in the same transaction (outbox) and under the order's row
// lock. A reply that arrives after the order was cancelled is answered with its compensation,
// so every hold is undone however late the reply comes.
//
//   PENDING ─reserved─▶ INVENTORY_RESERVED ─authorized─▶ PAYMENT_AUTHORIZED ─committed+captured─▶ CONFIRMED
//   PENDING ─rejected─▶ CANCELLED(OUT_OF_STOCK)
//   INVENTORY_RESERVED ─declined─▶ release ─▶ CANCELLED(PAYMENT_DECLINED)
//   any running step overdue ─▶ compensate ─▶ CANCELLED(TIMEOUT)
import type { EntityManager } from '@mikro-orm/postgresql';
import { enqueue, type OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import type { HandlerMap } from '../../../../shared/messaging/consumer.ts';
import type { Logger } from '../../../../shared/logger.ts';
import { changeStatus, lockOrder, lockOrders, saveConfirmationProgress } from '../domain/status-change.ts';
import { compensationsFor, type Compensation } from '../domain/order-status.ts';
import type { Order } from '../domain/order.entity.ts';
import { applyProductChanged } from '../domain/catalog.ts';

export interface SagaSettings {
  readonly stepTimeoutMs: number;
  readonly logger: Logger;
  /** Called when an order reaches a final status of its saga (CONFIRMED or CANCELLED). */
  readonly onSettled?: (order: Order) => void;
}

const command = (subject: Compensation | OutgoingMessage['subject'], orderId: string): OutgoingMessage =>
  ({ subject, payload: { v: 1, orderId } }) as OutgoingMessage;

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
    undo: Compensation[],
  ): Promise<void> {
    await changeStatus(em, order, 'CANCELLED', {
      reason,
      stepTimeoutMs,
      messages: undo.map((subject) => command(subject, order.id)),
    });
    settings.onSettled?.(order);
  }

  /** Records one half of confirmation (set on `order`); both halves done: CONFIRMED. */
  async function progressConfirmation(em: EntityManager, order: Order): Promise<void> {
    if (order.status === 'PAYMENT_AUTHORIZED' && order.stockCommitted && order.paymentCaptured) {
      await changeStatus(em, order, 'CONFIRMED', { stepTimeoutMs });
      settings.onSettled?.(order);
    } else {
      await saveConfirmationProgress(em, order);
    }
  }

  const handlers: HandlerMap = {
    'inventory.evt.reserved': (em, { orderId }) =>
      withOrder(em, orderId, async (order) => {
        if (order.status === 'PENDING') {
          await changeStatus(em, order, 'INVENTORY_RESERVED', {
            stepTimeoutMs,
            messages: [
              {
                subject: 'payments.cmd.authorize',
                payload: {
                  v: 1,
                  orderId,
                  customerId: order.customerId,
                  paymentMethod: order.paymentMethod,
                  amountCents: order.totalCents,
                  currency: order.currency,
                },
              },
            ],
          });
        } else if (order.status === 'CANCELLED') {
          await enqueue(em, [command('inventory.cmd.release', orderId)]);
        }
      }),

    'inventory.evt.reservation_rejected': (em, { orderId, reason }) =>
      withOrder(em, orderId, async (order) => {
        if (order.status === 'PENDING') await cancel(em, order, reason, []);
      }),

    'payments.evt.authorized': (em, { orderId }) =>
      withOrder(em, orderId, async (order) => {
        if (order.status === 'INVENTORY_RESERVED') {
          await changeStatus(em, order, 'PAYMENT_AUTHORIZED', {
            stepTimeoutMs,
            messages: [command('inventory.cmd.commit', orderId), command('payments.cmd.capture', orderId)],
          });
        } else if (order.status === 'CANCELLED') {
          await enqueue(em, [command('payments.cmd.void', orderId)]);
        }
      }),

    'payments.evt.declined': (em, { orderId, reason }) =>
      withOrder(em, orderId, async (order) => {
        if (order.status === 'INVENTORY_RESERVED') await cancel(em, order, reason, ['inventory.cmd.release']);
      }),

    'inventory.evt.committed': (em, { orderId }) =>
      withOrder(em, orderId, async (order) => {
        order.stockCommitted = true;
        await progressConfirmation(em, order);
        if (order.status === 'CANCELLED') await enqueue(em, [command('inventory.cmd.restock', orderId)]);
      }),

    'payments.evt.captured': (em, { orderId }) =>
      withOrder(em, orderId, async (order) => {
        order.paymentCaptured = true;
        await progressConfirmation(em, order);
        if (order.status === 'CANCELLED') await enqueue(em, [command('payments.cmd.refund', orderId)]);
      }),

    // Compensations done: the holds are gone. Recorded so that a later cancellation does not
    // ask to undo them twice.
    'inventory.evt.restocked': (em, { orderId }) =>
      withOrder(em, orderId, async (order) => {
        order.stockCommitted = false;
        await saveConfirmationProgress(em, order);
      }),
    'payments.evt.refunded': (em, { orderId }) =>
      withOrder(em, orderId, async (order) => {
        order.paymentCaptured = false;
        await saveConfirmationProgress(em, order);
      }),
    'inventory.evt.released': async () => undefined,
    // Low-stock alerts share inventory's event subjects (this consumer's filter); they are for
    // notifications, not the saga.
    'inventory.evt.stock_low': async () => undefined,
    'payments.evt.voided': async () => undefined,

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
      if (
        order.status === 'PENDING' ||
        order.status === 'INVENTORY_RESERVED' ||
        order.status === 'PAYMENT_AUTHORIZED'
      ) {
        await cancel(em, order, reason, compensationsFor(order.status, order));
      }
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
