// The orders tables' SQL, all of it built from the entities (order.entity.ts) by Kysely: the
// one place that reads and writes order rows with plain statements instead of the unit of work.
// Every saga step locks and changes an order, and the ORM's finds, hydration and change-set
// computation were the largest part of the orders service's CPU under load. Rows come back
// typed as the entities are; a column added to an entity is known here without another edit.
//
// Each statement is compiled once per shape and then only bound (shared/db/store.ts).
//
// Writes whose result nobody reads go through `withoutWaiting`: in a transaction they travel with
// the next statement (shared/db/pipelined-client.ts).
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type Insertable } from 'kysely';
import { withoutWaiting } from '../../../../shared/db/pipelined-client.ts';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import { Order, OrderItem, OrderStatusChange, ProductCopy } from './order.entity.ts';

type Tables = StoreTables<typeof Order | typeof OrderItem | typeof OrderStatusChange | typeof ProductCopy>;

const statement = storeStatements([Order, OrderItem, OrderStatusChange, ProductCopy], (em) =>
  em.getKysely<Tables>(STORE_OPTIONS),
);

export type NewOrderItem = Insertable<Tables['order_items']>;
export type ProductCopyRow = Insertable<Tables['product_copies']>;

/** A new order, its lines and its first history entry, in one statement. */
export async function insertOrder(
  em: EntityManager,
  order: Order,
  items: readonly NewOrderItem[],
): Promise<void> {
  // One shape per number of lines: an order has few.
  await withoutWaiting(() => insertOrderRows(em, { order, items }));
}
const insertOrderRows = statement((db, { order, items }: { order: Order; items: readonly NewOrderItem[] }) =>
  db
    .with('new_order', (q) => q.insertInto('orders').values(order))
    .with('new_items', (q) => q.insertInto('order_items').values(items))
    .insertInto('order_status_changes')
    .values({
      orderId: order.id,
      sequence: order.statusSequence,
      status: order.status,
      reason: order.failureReason,
      at: order.createdAt,
    }),
);

/** Orders locked for update, in id order (so overlapping sets never wait on each other in a cycle). */
export function lockOrderRows(em: EntityManager, ids: readonly string[]): Promise<Order[]> {
  return lockOrders(em, { ids });
}
const lockOrders = statement((db, p: { ids: readonly string[] }) =>
  db
    .selectFrom('orders')
    .selectAll()
    .where('id', '=', (eb) => eb.fn.any(eb.val(p.ids)))
    .orderBy('id')
    .forUpdate(),
);

/** The order locked for update. */
export async function lockOrderRow(em: EntityManager, id: string): Promise<Order | undefined> {
  const [row] = await lockOrder(em, { id });
  return row;
}
const lockOrder = statement((db, p: { id: string }) =>
  db.selectFrom('orders').selectAll().where('id', '=', p.id).forUpdate(),
);

/** Writes the order's status fields and appends `change` to its history, in one statement. */
export async function saveStatusChange(
  em: EntityManager,
  order: Order,
  change: Omit<OrderStatusChange, 'orderId' | 'sequence'>,
): Promise<void> {
  await withoutWaiting(() => saveStatus(em, { order, change }));
}
const saveStatus = statement(
  (db, { order, change }: { order: Order; change: Omit<OrderStatusChange, 'orderId' | 'sequence'> }) =>
    db
      .with('changed', (q) =>
        q
          .updateTable('orders')
          .set({
            status: order.status,
            statusSequence: order.statusSequence,
            failureReason: order.failureReason,
            stepDeadline: order.stepDeadline,
            stockCommitted: order.stockCommitted,
            paymentCaptured: order.paymentCaptured,
            updatedAt: order.updatedAt,
          })
          .where('id', '=', order.id),
      )
      .insertInto('order_status_changes')
      .values({ orderId: order.id, sequence: order.statusSequence, ...change }),
);

/** Writes the two halves of confirmation. */
export async function saveConfirmationFlags(em: EntityManager, order: Order): Promise<void> {
  await withoutWaiting(() => saveFlags(em, order));
}
const saveFlags = statement((db, order: Order) =>
  db
    .updateTable('orders')
    .set({ stockCommitted: order.stockCommitted, paymentCaptured: order.paymentCaptured })
    .where('id', '=', order.id),
);

/** Ids of orders whose step is overdue, locked; rows another transaction holds are skipped. */
export async function lockOverdueOrderIds(em: EntityManager, limit: number): Promise<string[]> {
  const rows = await lockOverdue(em, { limit });
  return rows.map((row) => row.id);
}
const lockOverdue = statement((db, p: { limit: number }) =>
  db
    .selectFrom('orders')
    .select('id')
    .where('stepDeadline', '<', sql<Date>`now()`)
    .orderBy('stepDeadline')
    .limit(p.limit)
    .forUpdate()
    .skipLocked(),
);

// --- the local copy of the catalogue ---

/** Writes a product event's copy unless the copy already has that revision or a newer one. */
export async function upsertProductCopy(
  em: EntityManager,
  event: PayloadOf<'products.evt.product_changed'>,
): Promise<void> {
  const copy: ProductCopyRow = {
    productId: event.productId,
    sku: event.sku,
    name: event.name,
    priceCents: event.priceCents,
    currency: event.currency,
    active: event.active,
    revision: event.revision,
  };
  await withoutWaiting(() => upsertCopy(em, copy));
}
const upsertCopy = statement((db, copy: ProductCopyRow) =>
  db
    .insertInto('product_copies')
    .values(copy)
    .onConflict((oc) =>
      oc
        .column('productId')
        .doUpdateSet(({ ref }) => ({
          sku: ref('excluded.sku'),
          name: ref('excluded.name'),
          priceCents: ref('excluded.priceCents'),
          currency: ref('excluded.currency'),
          active: ref('excluded.active'),
          revision: ref('excluded.revision'),
        }))
        .where('product_copies.revision', '<', ({ ref }) => ref('excluded.revision')),
    ),
);

/** Adds copies that are not there yet; existing ones are left as they are. */
export async function insertMissingProductCopies(
  em: EntityManager,
  copies: readonly ProductCopyRow[],
): Promise<void> {
  if (copies.length === 0) return;
  await withoutWaiting(() => insertCopies(em, copies));
}
const insertCopies = statement((db, copies: readonly ProductCopyRow[]) =>
  db
    .insertInto('product_copies')
    .values(copies)
    .onConflict((oc) => oc.column('productId').doNothing()),
);

export function findProductCopies(em: EntityManager, productIds: readonly string[]) {
  return findCopies(em, { productIds });
}
const findCopies = statement((db, p: { productIds: readonly string[] }) =>
  db
    .selectFrom('product_copies')
    .select(['productId', 'name', 'priceCents', 'currency', 'active'])
    .where('productId', '=', (eb) => eb.fn.any(eb.val(p.productIds))),
);
