// The events notifications consumes. Each handler runs in the consumer's inbox transaction
// (shared/messaging/consumer.ts): the copies it keeps and the notifications it records commit
// together with the inbox row, or not at all. Sending happens after the commit (delivery/).
//
// Errors: NotYetKnown (the customer's user event, or the order's PENDING event, has not arrived)
// propagates, and the consumer delivers the event again after a growing delay; an event that
// never becomes writable is dead-lettered like any other, one waiting for its customer only
// after about five minutes (waitsPatiently).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import type { HandlerMap, Unneeded } from '../../../../shared/messaging/consumer.ts';
import { willSendAfterCommit } from '../delivery/delivery-worker.ts';
import { isUnneededOrderEvent, recordLowStock, recordOrderStatus } from '../domain/record.ts';
import { upsertProductName, upsertUserCopy } from '../domain/notifications.store.ts';

/** Reads up front what a batch of order status events needs (the consumer's prepareBatch). */
export { prepareOrderEvents } from '../domain/record.ts';

const toSendAfterCommit = (em: EntityManager, count: number): void => {
  if (count > 0) willSendAfterCommit(em);
};

/** The order events the handler below would do nothing with: acknowledged without a transaction. */
export const unneededOrderEvent: Unneeded = (payload) =>
  isUnneededOrderEvent(payload as PayloadOf<'orders.evt.status'>);

export const orderEventHandlers: HandlerMap = {
  'orders.evt.status': async (em, event, meta) =>
    toSendAfterCommit(em, await recordOrderStatus(em, event, { deliveryCount: meta.deliveryCount })),
};

export const userEventHandlers: HandlerMap = {
  'users.evt.user_changed': (em, event) =>
    upsertUserCopy(em, {
      userId: event.userId,
      email: event.email,
      name: event.name,
      role: event.role,
      revision: event.revision,
    }),
};

export const productEventHandlers: HandlerMap = {
  'products.evt.product_changed': (em, event) =>
    upsertProductName(em, { productId: event.productId, name: event.name, revision: event.revision }),
};

export const stockEventHandlers: HandlerMap = {
  'inventory.evt.stock_low': async (em, event, meta) =>
    toSendAfterCommit(em, await recordLowStock(em, event, { deliveryCount: meta.deliveryCount })),
};
