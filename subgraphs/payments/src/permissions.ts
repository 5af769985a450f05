// Who may see what in the payments subgraph. Deny is the fallback, so a new field is private
// until a rule here says otherwise.
//
// A payment is visible to its order's customer (stored on the payment as customerId) and to
// administrators; anonymous callers get UNAUTHENTICATED everywhere, `_entities` included.
// Another customer's payment is FORBIDDEN, not silently null: the object as a whole is refused
// before any of its fields is resolved (Order.payment and Query.payment check the payment they
// would return), so not even its existence shows through a nullable field. Through the gateway
// this only happens to requests that bypass the orders subgraph's own check on the order.
//
// A void tombstone that no authorize ever reached has no customer: it is not a payment, and
// Order.payment shows none (null) to everyone; only administrators can look it up by id.
import { allow, deny, rule } from '../../../shared/auth/shield.ts';
import { isSignedIn, verdict } from '../../../shared/auth/rules.ts';
import * as policy from '../../../shared/auth/policies.ts';
import { UnauthenticatedError } from '../../../shared/errors.ts';
import { paymentOfOrder } from './domain/payments.ts';
import type { Payment } from './domain/payment.entity.ts';
import type { PaymentsContext } from './context.ts';

// No payment to show: any signed-in caller may learn that. A payment: its order's customer and
// administrators may see it.
function decide(payment: Payment | null, ctx: PaymentsContext): true | Error {
  const allowed = payment
    ? policy.isOwnerOrAdmin(ctx.identity, payment.customerId)
    : policy.isSignedIn(ctx.identity);
  return verdict(allowed, ctx.identity, 'You may only see the payments of your own orders');
}

const mayViewPayment = rule('payments.mayViewPayment')(
  (payment: Payment, _args: unknown, ctx: PaymentsContext) => decide(payment, ctx),
);

// The DataLoaders are shared with the resolvers: the rule's lookup is the resolver's lookup,
// batched across every order of the request into one query.
const mayViewOrderPayment = rule('payments.mayViewOrderPayment')(
  async (order: { id: string }, _args: unknown, ctx: PaymentsContext) =>
    ctx.identity
      ? decide(paymentOfOrder(await ctx.paymentsByOrderId.load(order.id)), ctx)
      : new UnauthenticatedError(),
);

const mayLookUpPayment = rule('payments.mayLookUpPayment')(
  async (_parent: unknown, args: { id: string }, ctx: PaymentsContext) =>
    ctx.identity ? decide(await ctx.paymentsById.load(args.id), ctx) : new UnauthenticatedError(),
);

export const permissions = {
  Query: {
    '*': deny,
    _service: allow,
    // Nothing here is public; entity fields are guarded below as well.
    _entities: isSignedIn,
    payment: mayLookUpPayment,
  },
  Order: {
    '*': isSignedIn,
    payment: mayViewOrderPayment,
  },
  Payment: mayViewPayment,
  PaymentEvent: allow,
  Money: allow,
  _Service: allow,
};
