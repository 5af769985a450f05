// Thin: read arguments, load through the request's DataLoaders, shape the answer.
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import type { PaymentsContext } from '../context.ts';
import type { Payment } from '../domain/payment.entity.ts';
import { paymentOfOrder } from '../domain/payments.ts';
import type { PaymentEvent } from '../domain/payment-event.entity.ts';

const money = (row: { amountCents: number; currency: string }) => ({
  amountCents: row.amountCents,
  currency: row.currency,
});

export const resolvers = {
  DateTime,
  Query: {
    payment: (_: unknown, args: { id: string }, ctx: PaymentsContext) => ctx.paymentsById.load(args.id),
  },
  Payment: {
    __resolveReference: (ref: { id: string }, ctx: PaymentsContext) => ctx.paymentsById.load(ref.id),
    amount: money,
    order: (payment: Payment) => ({ __typename: 'Order', id: payment.orderId }),
    events: (payment: Payment, _: unknown, ctx: PaymentsContext) => ctx.paymentEvents.load(payment.id),
  },
  PaymentEvent: {
    amount: (event: PaymentEvent) => money(event),
  },
  Order: {
    // Payments does not know orders; any id is an order as far as it is concerned.
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    payment: async (order: { id: string }, _: unknown, ctx: PaymentsContext) =>
      paymentOfOrder(await ctx.paymentsByOrderId.load(order.id)),
  },
};
