// Thin: read arguments, load through the request's DataLoaders, shape the answer.
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import { paymentOfOrder } from '../domain/payments.ts';
import type { Resolvers } from '../generated/graphql.ts';

const money = (row: { amountCents: number; currency: string }) => ({
  amountCents: row.amountCents,
  currency: row.currency,
});

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    payment: (_, args, ctx) => ctx.paymentsById.load(args.id),
  },
  Payment: {
    __resolveReference: (ref, ctx) => ctx.paymentsById.load(ref.id),
    amount: money,
    order: (payment) => ({ __typename: 'Order', id: payment.orderId }),
    events: (payment, _, ctx) => ctx.paymentEvents.load(payment.id),
  },
  PaymentEvent: {
    amount: (event) => money(event),
  },
  Order: {
    // Payments does not know orders; any id is an order as far as it is concerned.
    __resolveReference: (ref) => ref,
    payment: async (order, _, ctx) => paymentOfOrder(await ctx.paymentsByOrderId.load(order.id)),
  },
};
