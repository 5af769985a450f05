// Thin: read arguments, call the domain, shape the answer.
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import { UnauthenticatedError } from '../../../../shared/errors.ts';
import type { Identity } from '../../../../shared/auth/identity.ts';
import { isOwnerOrAdmin } from '../../../../shared/auth/policies.ts';
import type { OrdersContext } from '../context.ts';
import type { OrderWithItems } from '../domain/order-reads.store.ts';
import { advanceFulfilment, cancelOrder, placeOrder } from '../domain/orders.ts';
import { customerOrders } from '../domain/queries.ts';
import type { Resolvers } from '../generated/graphql.ts';

const money = (amountCents: number, currency: string) => ({ amountCents, currency });

function identity(ctx: OrdersContext): Identity {
  if (!ctx.identity) throw new UnauthenticatedError();
  return ctx.identity;
}

/** Null both when the order does not exist and when the caller may not see it: nothing leaks. */
async function visibleOrder(ctx: OrdersContext, id: string): Promise<OrderWithItems | null> {
  const order = await ctx.orders.load(id);
  const who = identity(ctx);
  return order && isOwnerOrAdmin(who, order.customerId) ? order : null;
}

async function orderAt(ctx: OrdersContext, id: string, sequence: number): Promise<OrderWithItems | null> {
  const order = await visibleOrder(ctx, id);
  if (!order) return null;
  const change = (await ctx.history.load(id)).find((c) => c.sequence === sequence);
  if (!change) return null;
  return {
    ...order,
    status: change.status,
    failureReason: change.status === 'CANCELLED' ? (change.reason ?? null) : null,
    statusSequence: change.sequence,
    updatedAt: change.at,
  };
}

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    order: (_, args, ctx) => visibleOrder(ctx, args.id),
    orderAt: (_, args, ctx) => orderAt(ctx, args.id, args.sequence),
    myOrders: (_, args, ctx) => customerOrders(ctx.reads, identity(ctx).userId, args.first, args.after),
  },
  Mutation: {
    placeOrder: (_, args, ctx) => placeOrder(ctx.em, identity(ctx).userId, args.input, ctx.settings),
    cancelOrder: (_, args, ctx) => cancelOrder(ctx.em, args.id, identity(ctx), ctx.settings),
    shipOrder: (_, args, ctx) => advanceFulfilment(ctx.em, args.id, 'SHIPPED', identity(ctx), ctx.settings),
    deliverOrder: (_, args, ctx) =>
      advanceFulfilment(ctx.em, args.id, 'DELIVERED', identity(ctx), ctx.settings),
  },
  Order: {
    __resolveReference: (ref, ctx) => ctx.orders.load(ref.id),
    customer: (order) => ({ __typename: 'User', id: order.customerId }),
    total: (order) => money(order.totalCents, order.currency),
    // Read orders come with their lines; those a mutation returns are read here.
    items: (order, _, ctx) => order.items ?? ctx.items.load(order.id),
    // Cut at the order's own sequence (orderAt's, or the row's): an order stays consistent with
    // itself even when a change commits between reading its row and reading its history.
    history: async (order, _, ctx) => {
      const changes = await ctx.history.load(order.id);
      return changes.filter((c) => c.sequence <= order.statusSequence);
    },
  },
  OrderItem: {
    product: (item) => ({ __typename: 'Product', id: item.productId }),
    unitPrice: (item) => money(item.unitPriceCents, item.currency),
    subtotal: (item) => money(item.unitPriceCents * item.quantity, item.currency),
  },
  OrderConnection: {
    totalCount: (connection) =>
      typeof connection.totalCount === 'function' ? connection.totalCount() : connection.totalCount,
  },
  User: {
    __resolveReference: (ref) => ref,
    orders: (user, args, ctx) => customerOrders(ctx.reads, user.id, args.first, args.after),
  },
};
