// Turns events into notification records: who gets what, rendered as it is at that moment.
// Each record is PENDING (the delivery worker sends it after this transaction commits), or
// SKIPPED when its user turned email off. A second event about the same thing adds nothing
// (each record has a dedupe key).
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import { oneLine } from '../templates/format.ts';
import type { RenderedMessage } from '../templates/message.ts';
import {
  ORDER_TEMPLATES,
  isNotifiedStatus,
  renderOrderMessage,
  type NotifiedStatus,
} from '../templates/order-status.ts';
import { renderLowStockMessage } from '../templates/low-stock.ts';
import type { PlacedOrder, Template } from './entities.ts';
import {
  findAdmins,
  findPlacedOrder,
  findPlacedOrders,
  findProductName,
  findRecipient,
  findRecipients,
  insertNotifications,
  insertPlacedOrder,
  type NewNotification,
  type Recipient,
} from './notifications.store.ts';

/** Something an event needs has not arrived yet (its own event is still on its way): retry later. */
export class NotYetKnown extends Error {
  override name = 'NotYetKnown';
  /**
   * Still worth waiting for past the consumer's usual deliveries (its retriesUntilDone): an
   * order event's customer, whose user event comes on another stream, and all of whose events a
   * notifications subgraph deployed onto a running shop reads first.
   */
  readonly patient: boolean;
  constructor(message: string, patient = false) {
    super(message);
    this.patient = patient;
  }
}

/** For the consumer: an event waiting for its customer comes back until WAIT_FOR_CUSTOMER. */
export function waitsPatiently(_subject: string, err: unknown): boolean {
  return err instanceof NotYetKnown && err.patient;
}

interface Draft {
  readonly user: Recipient;
  readonly template: Template;
  readonly dedupeKey: string;
  readonly orderId?: string;
  readonly productId?: string;
  readonly message: RenderedMessage;
}

/**
 * What a batch of order status events needs, read up front in two statements instead of two
 * per event (the consumer hands a batch of messages to one transaction: shared/messaging/consumer.ts).
 * Keyed by the batch's transaction; a single message reads what it needs itself.
 */
interface BatchFacts {
  readonly users: Map<string, Recipient>;
  readonly placed: Map<string, PlacedOrder>;
}
const batchFacts = new WeakMap<EntityManager, BatchFacts>();

export async function prepareOrderEvents(em: EntityManager, payloads: readonly unknown[]): Promise<void> {
  const notified = (payloads as OrderStatusEvent[]).filter((e) => orderEventUse(e).kind === 'notify');
  if (notified.length === 0) return;
  // Events of other statuses (PENDING included: it only keeps the order) read nothing here.
  const users = await findRecipients(em, [...new Set(notified.map((e) => e.customerId))]);
  const placed = await findPlacedOrders(
    em,
    notified.map((e) => e.orderId),
  );
  batchFacts.set(em, {
    users: new Map(users.map((u) => [u.userId, u])),
    placed: new Map(placed.map((o) => [o.orderId, o])),
  });
}

type OrderStatusEvent = PayloadOf<'orders.evt.status'>;

/**
 * What recordOrderStatus does with an order status event: keep the order as placed (the PENDING
 * event that carries it), write to its customer (the statuses a customer is told of), or
 * nothing (the saga's steps in between). Decided here once, for the handler and for the consumer,
 * which acknowledges the last kind without a transaction or an inbox row.
 */
type OrderEventUse =
  | { readonly kind: 'placed'; readonly order: NonNullable<OrderStatusEvent['order']> }
  | { readonly kind: 'notify'; readonly status: NotifiedStatus }
  | { readonly kind: 'none' };

function orderEventUse(event: OrderStatusEvent): OrderEventUse {
  if (event.status === 'PENDING')
    return event.order ? { kind: 'placed', order: event.order } : { kind: 'none' };
  return isNotifiedStatus(event.status) ? { kind: 'notify', status: event.status } : { kind: 'none' };
}

/** An order status event recordOrderStatus would do nothing with. */
export function isUnneededOrderEvent(event: OrderStatusEvent): boolean {
  return orderEventUse(event).kind === 'none';
}

/** The last `createdAt` this process gave a notification (milliseconds). */
let lastCreatedAt = 0;

/**
 * A user's notifications are listed newest first by `createdAt`. Two recorded in the same
 * millisecond (events handled in one batch, a fast machine) would otherwise tie, and the tie
 * would be broken by their random ids, not by the order they were recorded in: each one this
 * process records is at least a millisecond after the one before.
 */
function nextCreatedAt(now: Date): Date {
  lastCreatedAt = Math.max(now.getTime(), lastCreatedAt + 1);
  return new Date(lastCreatedAt);
}

/** Records the drafts (SKIPPED for users who opted out); returns how many are to be sent. */
async function record(em: EntityManager, drafts: readonly Draft[], now: Date): Promise<number> {
  if (drafts.length === 0) return 0;
  const rows: NewNotification[] = drafts.map((d) => ({
    id: randomUUID(),
    dedupeKey: d.dedupeKey,
    userId: d.user.userId,
    channel: 'EMAIL',
    template: d.template,
    orderId: d.orderId ?? null,
    productId: d.productId ?? null,
    status: d.user.emailEnabled ? 'PENDING' : 'SKIPPED',
    attempts: 0,
    recipient: d.user.email,
    subject: oneLine(d.message.subject),
    bodyText: d.message.text,
    bodyHtml: d.message.html,
    createdAt: nextCreatedAt(now),
    nextAttemptAt: now,
    sentAt: null,
    failureReason: null,
  }));
  await insertNotifications(em, rows);
  return rows.filter((r) => r.status === 'PENDING').length;
}

export interface RecordOptions {
  /** How often this event has been delivered: a missing order copy is waited for a few times only. */
  readonly deliveryCount: number;
  readonly now?: Date;
}

/** Deliveries during which an event waits for another it needs (an order's PENDING event, a
 * product's name) before writing without it. */
const WAIT_FOR_OTHER_EVENT = 3;

/**
 * Deliveries during which an order event waits for its customer's user event before it is
 * dead-lettered (there is no one to write to without it): about five minutes, the consumer's
 * delays growing to 5 s. Its usual 8 deliveries, about 11 s, dropped the email whenever users'
 * events ran behind.
 */
const WAIT_FOR_CUSTOMER = 60;

/**
 * An order's status changed: PENDING keeps the order as placed; CONFIRMED, CANCELLED, SHIPPED
 * and DELIVERED write to its customer. Returns how many notifications are to be sent.
 */
export async function recordOrderStatus(
  em: EntityManager,
  event: OrderStatusEvent,
  options: RecordOptions,
): Promise<number> {
  const facts = batchFacts.get(em);
  const use = orderEventUse(event);
  if (use.kind === 'none') return 0;
  if (use.kind === 'placed') {
    const placed: PlacedOrder = {
      orderId: event.orderId,
      customerId: event.customerId,
      amountCents: use.order.amountCents,
      currency: use.order.currency,
      items: use.order.items,
    };
    await insertPlacedOrder(em, placed);
    // Its CONFIRMED may be in the same batch, read before this insert.
    if (!facts?.placed.has(placed.orderId)) facts?.placed.set(placed.orderId, placed);
    return 0;
  }
  const customer = facts ? facts.users.get(event.customerId) : await findRecipient(em, event.customerId);
  if (!customer) {
    throw new NotYetKnown(
      `user ${event.customerId} is not known yet`,
      options.deliveryCount < WAIT_FOR_CUSTOMER,
    );
  }
  const placed = facts ? (facts.placed.get(event.orderId) ?? null) : await findPlacedOrder(em, event.orderId);
  // Orders placed before notifications ran, or whose PENDING event is held up: wait a little,
  // then write without the items rather than not at all.
  if (!placed && options.deliveryCount < WAIT_FOR_OTHER_EVENT) {
    throw new NotYetKnown(`order ${event.orderId} has not been seen placed yet`);
  }
  const template = ORDER_TEMPLATES[use.status];
  return record(
    em,
    [
      {
        user: customer,
        template,
        dedupeKey: `${template}:${event.orderId}`,
        orderId: event.orderId,
        message: renderOrderMessage({
          status: use.status,
          customerName: customer.name,
          orderId: event.orderId,
          order: placed,
          reason: event.reason,
        }),
      },
    ],
    options.now ?? new Date(),
  );
}

/** A product's available stock fell below the threshold: every administrator hears of it once. */
export async function recordLowStock(
  em: EntityManager,
  event: PayloadOf<'inventory.evt.stock_low'>,
  options: RecordOptions,
): Promise<number> {
  const admins = await findAdmins(em);
  const productName = await findProductName(em, event.productId);
  // The product's own event comes on another stream: wait for its name a little, as above.
  if (productName === null && options.deliveryCount < WAIT_FOR_OTHER_EVENT) {
    throw new NotYetKnown(`product ${event.productId} has not been seen yet`);
  }
  return record(
    em,
    admins.map((admin) => ({
      user: admin,
      template: 'LOW_STOCK',
      // Once per product, crossing and administrator.
      dedupeKey: `LOW_STOCK:${event.productId}:${event.crossing}:${admin.userId}`,
      productId: event.productId,
      message: renderLowStockMessage({
        adminName: admin.name,
        productId: event.productId,
        productName,
        available: event.available,
        threshold: event.threshold,
      }),
    })),
    options.now ?? new Date(),
  );
}
