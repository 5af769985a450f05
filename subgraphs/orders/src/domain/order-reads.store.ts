// What the GraphQL read path asks of the orders tables: an order with its lines, a customer's
// orders a page at a time, status histories. Built from the entities (order.entity.ts) like the
// saga's statements (order.store.ts), compiled once and then only bound (shared/db/store.ts).
// MikroORM's `em.find` built its SQL, hydrated entities and registered them in the unit of work
// on every request, which was most of what a one-order query cost the service beyond its floor;
// nothing here is ever changed and flushed, so a read needs none of that.
//
// An order comes with its lines aggregated into it (`items`, a JSON array mapped back to the
// entity's property names and types by the store's row mapper): one statement and one round trip
// for `order(id) { ... items { ... } }`, which the gateway asks for most.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ExpressionBuilder } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import { Order, OrderItem, OrderStatusChange } from './order.entity.ts';

type Tables = StoreTables<typeof Order | typeof OrderItem | typeof OrderStatusChange>;

const statement = storeStatements([Order, OrderItem, OrderStatusChange], (em) =>
  em.getKysely<Tables>(STORE_OPTIONS),
);

/** An order as the read path serves it: the row and its lines, in position order. */
export type OrderWithItems = Order & { readonly items: OrderItem[] };
/** What resolvers get for an Order: reads bring its lines, a mutation's answer does not. */
export type OrderView = Order & { readonly items?: OrderItem[] };

/** The order's lines as one JSON array, oldest position first ([] for none). */
const itemsOf = (eb: ExpressionBuilder<Tables, 'orders'>) =>
  jsonArrayFrom(
    eb
      .selectFrom('order_items')
      .selectAll('order_items')
      .whereRef('order_items.orderId', '=', 'orders.id')
      .orderBy('order_items.position'),
  ).as('items');

/** The orders of `ids` that exist, with their lines, in no particular order. */
export function findOrdersWithItems(em: EntityManager, ids: readonly string[]): Promise<OrderWithItems[]> {
  return ordersWithItems(em, { ids });
}
const ordersWithItems = statement((db, p: { ids: readonly string[] }) =>
  db
    .selectFrom('orders')
    .selectAll('orders')
    .select(itemsOf)
    .where('orders.id', '=', (eb) => eb.fn.any(eb.val(p.ids))),
);

/** Where a page of a customer's orders starts: after this (createdAt, id), newest first. */
export interface OrderPageCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** Up to `limit` of the customer's orders with their lines, newest first, after `after` if given. */
export function findCustomerOrderPage(
  em: EntityManager,
  customerId: string,
  limit: number,
  after: OrderPageCursor | null,
): Promise<OrderWithItems[]> {
  return after
    ? customerPageAfter(em, { customerId, limit, createdAt: after.createdAt, id: after.id })
    : customerPage(em, { customerId, limit });
}
// Two statements rather than one with an optional condition: each is compiled once, and the
// (customer_id, created_at desc, id desc) index serves both.
const customerPage = statement((db, p: { customerId: string; limit: number }) =>
  db
    .selectFrom('orders')
    .selectAll('orders')
    .select(itemsOf)
    .where('orders.customerId', '=', p.customerId)
    .orderBy('orders.createdAt', 'desc')
    .orderBy('orders.id', 'desc')
    .limit(p.limit),
);
const customerPageAfter = statement(
  (db, p: { customerId: string; limit: number; createdAt: Date; id: string }) =>
    db
      .selectFrom('orders')
      .selectAll('orders')
      .select(itemsOf)
      .where('orders.customerId', '=', p.customerId)
      .where((eb) => eb(eb.refTuple('orders.createdAt', 'orders.id'), '<', eb.tuple(p.createdAt, p.id)))
      .orderBy('orders.createdAt', 'desc')
      .orderBy('orders.id', 'desc')
      .limit(p.limit),
);

/** How many orders the customer has. */
export async function countCustomerOrders(em: EntityManager, customerId: string): Promise<number> {
  const [row] = await customerCount(em, { customerId });
  return row?.count ?? 0;
}
const customerCount = statement((db, p: { customerId: string }) =>
  db
    .selectFrom('orders')
    .select((eb) => eb.cast<number>(eb.fn.countAll(), 'integer').as('count'))
    .where('customerId', '=', p.customerId),
);

/** The lines of these orders, by order and position (for orders read without them). */
export function findOrderItems(em: EntityManager, orderIds: readonly string[]): Promise<OrderItem[]> {
  return orderItems(em, { orderIds });
}
const orderItems = statement((db, p: { orderIds: readonly string[] }) =>
  db
    .selectFrom('order_items')
    .selectAll()
    .where('orderId', '=', (eb) => eb.fn.any(eb.val(p.orderIds)))
    .orderBy('orderId')
    .orderBy('position'),
);

/** The status changes of these orders, by order and sequence. */
export function findStatusHistory(
  em: EntityManager,
  orderIds: readonly string[],
): Promise<OrderStatusChange[]> {
  return statusHistory(em, { orderIds });
}
const statusHistory = statement((db, p: { orderIds: readonly string[] }) =>
  db
    .selectFrom('order_status_changes')
    .selectAll()
    .where('orderId', '=', (eb) => eb.fn.any(eb.val(p.orderIds)))
    .orderBy('orderId')
    .orderBy('sequence'),
);
