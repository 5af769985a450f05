import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ORDER_STATUSES } from './order-status.ts';

export const Order = defineEntity({
  name: 'Order',
  tableName: 'orders',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => crypto.randomUUID()),
    customerId: p.uuid(),
    status: p.enum([...ORDER_STATUSES]),
    failureReason: p.string().nullable(),
    totalCents: p.integer(),
    currency: p.string().length(3),
    paymentMethod: p.string(),
    idempotencyKey: p.string().nullable(),
    /** Number of status changes so far: 1 when PENDING. Events carry it to subscribers. */
    statusSequence: p.integer(),
    /** The saga's current step must be answered by then, or the order is cancelled (TIMEOUT). */
    stepDeadline: p.datetime().nullable(),
    /** The two halves of confirmation: CONFIRMED once both are true. */
    stockCommitted: p.boolean().default(false),
    paymentCaptured: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Order = InferEntity<typeof Order>;

export const OrderItem = defineEntity({
  name: 'OrderItem',
  tableName: 'order_items',
  properties: {
    orderId: p.uuid().primary(),
    position: p.integer().primary(),
    productId: p.uuid(),
    productName: p.string(),
    quantity: p.integer(),
    unitPriceCents: p.integer(),
    currency: p.string().length(3),
  },
});
export type OrderItem = InferEntity<typeof OrderItem>;

export const OrderStatusChange = defineEntity({
  name: 'OrderStatusChange',
  tableName: 'order_status_changes',
  properties: {
    orderId: p.uuid().primary(),
    sequence: p.integer().primary(),
    status: p.enum([...ORDER_STATUSES]),
    reason: p.string().nullable(),
    at: p.datetime(),
  },
});
export type OrderStatusChange = InferEntity<typeof OrderStatusChange>;

/** What orders knows of a product, fed by product events: enough to price an order alone. */
export const ProductCopy = defineEntity({
  name: 'ProductCopy',
  tableName: 'product_copies',
  properties: {
    productId: p.uuid().primary(),
    sku: p.string(),
    name: p.string(),
    priceCents: p.integer(),
    currency: p.string().length(3),
    active: p.boolean(),
    /** The products service's revision: an older event never overwrites a newer copy. */
    revision: p.integer(),
  },
});
export type ProductCopy = InferEntity<typeof ProductCopy>;
