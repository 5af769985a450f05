// Thin: read arguments, call the domain, shape the answer.
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import { UnauthenticatedError } from '../../../../shared/errors.ts';
import type { Identity } from '../../../../shared/auth/identity.ts';
import { isOwnerOrAdmin } from '../../../../shared/auth/policies.ts';
import type { OrdersContext } from '../context.ts';
import type { Order, OrderItem } from '../domain/order.entity.ts';
import { advanceFulfilment, cancelOrder, placeOrder, type PlaceOrderInput } from '../domain/orders.ts';
import { customerOrders } from '../domain/queries.ts';

const money = (amountCents: number, currency: string) => ({ amountCents, currency });

function identity(ctx: OrdersContext): Identity {
  if (!ctx.identity) throw new UnauthenticatedError();
  return ctx.identity;
}

/** Null both when the order does not exist and when the caller may not see it: nothing leaks. */
async function visibleOrder(ctx: OrdersContext, id: string): Promise<Order | null> {
  const order = await ctx.orders.load(id);
  const who = identity(ctx);
  return order && isOwnerOrAdmin(who, order.customerId) ? order : null;
}

async function orderAt(ctx: OrdersContext, id: string, sequence: number): Promise<Order | null> {
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

export const resolvers = {
  DateTime,
  Query: {
    order: (_: unknown, args: { id: string }, ctx: OrdersContext) => visibleOrder(ctx, args.id),
    orderAt: (_: unknown, args: { id: string; sequence: number }, ctx: OrdersContext) =>
      orderAt(ctx, args.id, args.sequence),
    myOrders: (_: unknown, args: { first?: number; after?: string }, ctx: OrdersContext) =>
      customerOrders(ctx.em, identity(ctx).userId, args.first, args.after),
  },
  Mutation: {
    placeOrder: (_: unknown, args: { input: PlaceOrderInput }, ctx: OrdersContext) =>
      placeOrder(ctx.em, identity(ctx).userId, args.input, ctx.settings),
    cancelOrder: (_: unknown, args: { id: string }, ctx: OrdersContext) =>
      cancelOrder(ctx.em, args.id, identity(ctx), ctx.settings.stepTimeoutMs),
    shipOrder: (_: unknown, args: { id: string }, ctx: OrdersContext) =>
      advanceFulfilment(ctx.em, args.id, 'SHIPPED', identity(ctx), ctx.settings.stepTimeoutMs),
    deliverOrder: (_: unknown, args: { id: string }, ctx: OrdersContext) =>
      advanceFulfilment(ctx.em, args.id, 'DELIVERED', identity(ctx), ctx.settings.stepTimeoutMs),
  },
  Order: {
    __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.orders.load(ref.id),
    customer: (order: Order) => ({ __typename: 'User', id: order.customerId }),
    total: (order: Order) => money(order.totalCents, order.currency),
    items: (order: Order, _: unknown, ctx: OrdersContext) => ctx.items.load(order.id),
    // Cut at the order's own sequence (orderAt's, or the row's): an order stays consistent with
    // itself even when a change commits between reading its row and reading its history.
    history: async (order: Order, _: unknown, ctx: OrdersContext) => {
      const changes = await ctx.history.load(order.id);
      return changes.filter((c) => c.sequence <= order.statusSequence);
    },
  },
  OrderItem: {
    product: (item: OrderItem) => ({ __typename: 'Product', id: item.productId }),
    unitPrice: (item: OrderItem) => money(item.unitPriceCents, item.currency),
    subtotal: (item: OrderItem) => money(item.unitPriceCents * item.quantity, item.currency),
  },
  OrderConnection: {
    totalCount: (connection: { totalCount: number | (() => Promise<number>) }) =>
      typeof connection.totalCount === 'function' ? connection.totalCount() : connection.totalCount,
  },
  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    orders: (user: { id: string }, args: { first?: number; after?: string }, ctx: OrdersContext) =>
      customerOrders(ctx.em, user.id, args.first, args.after),
  },
};
