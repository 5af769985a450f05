import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const PAYMENT_STATUSES = ['AUTHORIZED', 'CAPTURED', 'DECLINED', 'VOIDED', 'REFUNDED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * ISO-4217 "no currency": the amount of a void tombstone, written when a void arrives before any
 * authorize (the void command carries only the order id).
 */
export const NO_CURRENCY = 'XXX';

/** One payment per order (`order_id` is unique): every command is idempotent by order id. */
export const Payment = defineEntity({
  name: 'Payment',
  tableName: 'payments',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => crypto.randomUUID()),
    orderId: p.uuid().unique(),
    /** The order's customer, who may see the payment. Null only on a tombstone never authorized. */
    customerId: p.uuid().nullable(),
    amountCents: p.integer(),
    currency: p.string().length(3),
    status: p.enum([...PAYMENT_STATUSES]),
    declineReason: p.string().nullable(),
    /** The token the customer paid with, e.g. `pm_card_visa`. */
    paymentMethod: p.string().nullable(),
    /** The provider's id of the authorization; null when nothing was ever authorized. */
    providerReference: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});
export type Payment = InferEntity<typeof Payment>;
