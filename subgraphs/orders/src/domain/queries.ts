// Reading orders: one customer's orders a page at a time, and batches by id for the gateway.
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  decodeCreatedAtCursor,
  pageSize,
  toConnection,
  type Connection,
} from '../../../../shared/graphql/pagination.ts';
import { Order, OrderItem, OrderStatusChange } from './order.entity.ts';

export async function customerOrders(
  em: EntityManager,
  customerId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Connection<Order>> {
  const size = pageSize(first);
  const cursor = decodeCreatedAtCursor(after);
  const where = cursor
    ? {
        customerId,
        $or: [
          { createdAt: { $lt: cursor.createdAt } },
          { createdAt: cursor.createdAt, id: { $lt: cursor.id } },
        ],
      }
    : { customerId };
  const rows = await em.find(Order, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 });
  return toConnection(
    rows,
    size,
    (o) => [o.createdAt.toISOString(), o.id],
    () => em.count(Order, { customerId }),
  );
}

export const findOrders = (em: EntityManager, ids: readonly string[]) =>
  em.find(Order, { id: { $in: [...ids] } });

export const findItems = (em: EntityManager, orderIds: readonly string[]) =>
  em.find(OrderItem, { orderId: { $in: [...orderIds] } }, { orderBy: { orderId: 'asc', position: 'asc' } });

export const findHistory = (em: EntityManager, orderIds: readonly string[]) =>
  em.find(
    OrderStatusChange,
    { orderId: { $in: [...orderIds] } },
    { orderBy: { orderId: 'asc', sequence: 'asc' } },
  );
