// Reading orders: one customer's orders a page at a time, and batches by id for the gateway.
// Reads go through the read store (order-reads.store.ts), not the unit of work: nothing read here
// is changed, so any EntityManager will do, the global one included (no fork per request).
import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../../../../shared/errors.ts';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import {
  decodeCursor,
  pageSize,
  toConnection,
  type Connection,
} from '../../../../shared/graphql/pagination.ts';
import {
  countCustomerOrders,
  findCustomerOrderPage,
  type OrderPageCursor,
  type OrderWithItems,
} from './order-reads.store.ts';

export async function customerOrders(
  em: EntityManager,
  customerId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Connection<OrderWithItems>> {
  const size = pageSize(first);
  const rows = await findCustomerOrderPage(em, customerId, size + 1, orderCursor(after));
  return toConnection(
    rows,
    size,
    (o) => [o.createdAt.toISOString(), o.id],
    () => countCustomerOrders(em, customerId),
  );
}

/** A cursor of this list holds (createdAt, id); anything else is the client's mistake, not SQL's. */
function orderCursor(after: string | null | undefined): OrderPageCursor | null {
  const key = decodeCursor(after, 2);
  if (!key) return null;
  const [at, id] = key;
  const createdAt = typeof at === 'string' ? new Date(at) : new Date(Number.NaN);
  if (Number.isNaN(createdAt.getTime()) || !isUuid(id)) {
    throw new BadUserInputError('after', 'Not a cursor from this list');
  }
  return { createdAt, id: id.toLowerCase() };
}
