// Who may read and do what in the orders subgraph. Deny is the fallback: a new field is private
// until a rule here says otherwise. Order fields are guarded on the type, so an order reached
// through `_entities` (from payments, or the gateway) is as private as one reached by `order`.
import { allow, deny } from '../../../shared/auth/shield.ts';
import { isAdmin, isOwnerOrAdmin, isSignedIn } from '../../../shared/auth/rules.ts';
import type { Order } from './domain/order.entity.ts';

const isOrderCustomerOrAdmin = isOwnerOrAdmin<Order>(
  'orders.isOrderCustomerOrAdmin',
  (order) => order.customerId,
);
const isSelfOrAdmin = isOwnerOrAdmin<{ id: string }>('orders.isUserSelfOrAdmin', (user) => user.id);

export const permissions = {
  Query: {
    '*': deny,
    _service: allow,
    _entities: allow,
    order: isSignedIn,
    orderAt: isSignedIn,
    myOrders: isSignedIn,
  },
  Mutation: {
    '*': deny,
    placeOrder: isSignedIn,
    // The domain answers NOT_FOUND for someone else's order, as for a missing one.
    cancelOrder: isSignedIn,
    shipOrder: isAdmin,
    deliverOrder: isAdmin,
  },
  Order: { '*': isOrderCustomerOrAdmin },
  User: { '*': deny, id: allow, orders: isSelfOrAdmin },
  OrderItem: allow,
  OrderStatusChange: allow,
  OrderConnection: allow,
  OrderEdge: allow,
  PageInfo: allow,
  Money: allow,
  Product: allow,
};
