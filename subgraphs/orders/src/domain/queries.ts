// Reading orders: one customer's orders a page at a time, and batches by id for the gateway.
// Reads go through the read store (order-reads.store.ts), not the unit of work: nothing read here
// is changed, so any EntityManager will do, the global one included (no fork per request).
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  decodeCreatedAtCursor,
  pageSize,
  toConnection,
  type Connection,
} from '../../../../shared/graphql/pagination.ts';
import { countCustomerOrders, findCustomerOrderPage, type OrderWithItems } from './order-reads.store.ts';

export async function customerOrders(
  em: EntityManager,
  customerId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Connection<OrderWithItems>> {
  const size = pageSize(first);
  const rows = await findCustomerOrderPage(em, customerId, size + 1, decodeCreatedAtCursor(after));
  return toConnection(
    rows,
    size,
    (o) => [o.createdAt.toISOString(), o.id],
    () => countCustomerOrders(em, customerId),
  );
}
