import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Payment } from './payment.entity.ts';

export const PAYMENT_EVENT_KINDS = ['AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'REFUNDED'] as const;
export type PaymentEventKind = (typeof PAYMENT_EVENT_KINDS)[number];

/**
 * The audit trail of a payment: one row per operation, with the amount it concerned, so money
 * can be accounted for (captured = sum of CAPTURED - sum of REFUNDED). DECLINED rows carry the
 * amount that was asked for; nothing was held. Rows are only ever inserted.
 */
export const PaymentEvent = defineEntity({
  name: 'PaymentEvent',
  tableName: 'payment_events',
  properties: {
    /** Grows with every row: the order in which things happened, even within one transaction. */
    id: p.bigint('number').primary().autoincrement(),
    payment: p.manyToOne(Payment),
    kind: p.enum([...PAYMENT_EVENT_KINDS]),
    amountCents: p.integer(),
    currency: p.string().length(3),
    /** Why, for DECLINED rows. */
    reason: p.string().nullable(),
    at: p.datetime().onCreate(() => new Date()),
  },
});
export type PaymentEvent = InferEntity<typeof PaymentEvent>;
