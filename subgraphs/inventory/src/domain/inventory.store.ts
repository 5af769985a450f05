// The inventory tables' SQL, all of it built from the entities (stock.entity.ts) by Kysely: the
// one place that reads and writes stock and reservation rows. Rows come back typed as the
// entities are; a column added to an entity is known here without another edit.
//
// Writes whose result nobody reads go through `withoutWaiting`: in a transaction they travel with
// the next statement, in order (shared/db/pipelined-client.ts). Stock counts never go below
// zero: the table's CHECK constraint fails the transaction first (reservations.ts says why the
// callers never ask for that).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Insertable } from 'kysely';
import { withoutWaiting } from '../../../../shared/db/pipelined-client.ts';
import { STORE_OPTIONS, StoreStatementLogging, type StoreTables } from '../../../../shared/db/store.ts';
import { Reservation, ReservationLine, Stock, type ReservationStatus } from './stock.entity.ts';

type Tables = StoreTables<typeof Stock | typeof Reservation | typeof ReservationLine>;

const db = (em: EntityManager) =>
  em.getKysely<Tables>(STORE_OPTIONS).withPlugin(new StoreStatementLogging(em));

export type NewReservation = Insertable<Tables['reservations']>;
export type StockLine = Pick<ReservationLine, 'productId' | 'warehouse' | 'quantity'>;

// --- stock ---

/** The products' stock rows that have units available, locked, in (product, warehouse) order. */
export function lockAvailableStock(em: EntityManager, productIds: readonly string[]) {
  return db(em)
    .selectFrom('stock')
    .select(['productId', 'warehouse', 'available'])
    .where('productId', '=', (eb) => eb.fn.any(eb.val([...productIds])))
    .where('available', '>', 0)
    .orderBy('productId')
    .orderBy('warehouse')
    .forUpdate()
    .execute();
}

/** How a line's units move between the counters of its stock row. */
export const MOVES = {
  reserve: { from: 'available', to: 'reserved' },
  release: { from: 'reserved', to: 'available' },
  commit: { from: 'reserved', to: 'sold' },
  restock: { from: 'sold', to: 'available' },
} as const;

/**
 * Moves the units of the order's recorded lines between two counters of their stock rows, in one
 * statement, and with it sets the reservation's new status when one is given. The stock rows are
 * locked first in (product, warehouse) order, the order every transaction locks them in, so two
 * orders never wait on each other in a cycle. Nobody reads the result.
 */
export async function moveUnitsOf(
  em: EntityManager,
  orderId: string,
  move: keyof typeof MOVES,
  status?: ReservationStatus,
): Promise<void> {
  const { from, to } = MOVES[move];
  const moved = db(em)
    .updateTable('stock')
    .from((eb) =>
      eb
        .selectFrom('stock as held')
        .innerJoin('reservation_lines as line', (join) =>
          join.onRef('line.productId', '=', 'held.productId').onRef('line.warehouse', '=', 'held.warehouse'),
        )
        .select(['held.productId', 'held.warehouse', 'line.quantity'])
        .where('line.orderId', '=', orderId)
        .orderBy('held.productId')
        .orderBy('held.warehouse')
        .forUpdate('held')
        .as('l'),
    )
    .set((eb) => ({
      [from]: eb(`stock.${from}`, '-', eb.ref('l.quantity')),
      [to]: eb(`stock.${to}`, '+', eb.ref('l.quantity')),
      version: eb('stock.version', '+', 1),
    }))
    .whereRef('stock.productId', '=', 'l.productId')
    .whereRef('stock.warehouse', '=', 'l.warehouse');
  await withoutWaiting(() =>
    status === undefined
      ? moved.execute()
      : db(em)
          .with('moved', () => moved)
          .updateTable('reservations')
          .set({ status, updatedAt: new Date() })
          .where('orderId', '=', orderId)
          .execute(),
  );
}

/** Sets the units available in one warehouse; held (reserved) and sold units are left alone. */
export async function upsertAvailable(
  em: EntityManager,
  productId: string,
  warehouse: string,
  available: number,
): Promise<void> {
  await db(em)
    .insertInto('stock')
    .values({ productId, warehouse, available })
    .onConflict((oc) =>
      oc.columns(['productId', 'warehouse']).doUpdateSet((eb) => ({
        available: eb.ref('excluded.available'),
        version: eb('stock.version', '+', 1),
      })),
    )
    .execute();
}

/** Available and reserved units summed over warehouses, per product that has stock. */
export async function sumStock(em: EntityManager, productIds: readonly string[]) {
  return db(em)
    .selectFrom('stock')
    .select((eb) => [
      'productId',
      eb.fn.sum<string>('available').as('available'),
      eb.fn.sum<string>('reserved').as('reserved'),
    ])
    .where('productId', '=', (eb) => eb.fn.any(eb.val([...productIds])))
    .groupBy('productId')
    .execute();
}

// --- reservations ---

/** Inserts the reservation unless the order has one; true when it was inserted. */
export async function insertReservationIfNew(
  em: EntityManager,
  reservation: NewReservation,
): Promise<boolean> {
  const created = await db(em)
    .insertInto('reservations')
    .values(reservation)
    .onConflict((oc) => oc.column('orderId').doNothing())
    .returning('orderId')
    .execute();
  return created.length > 0;
}

export async function insertReservationLines(
  em: EntityManager,
  orderId: string,
  lines: readonly StockLine[],
): Promise<void> {
  if (lines.length === 0) return;
  await withoutWaiting(() =>
    db(em)
      .insertInto('reservation_lines')
      .values(lines.map((line) => ({ orderId, ...line })))
      .execute(),
  );
}

export function findReservation(em: EntityManager, orderId: string) {
  return db(em)
    .selectFrom('reservations')
    .select(['status', 'reason'])
    .where('orderId', '=', orderId)
    .executeTakeFirst();
}

/** The reservation's status, locked for update; null when the order has none. */
export async function lockReservation(em: EntityManager, orderId: string): Promise<ReservationStatus | null> {
  const row = await db(em)
    .selectFrom('reservations')
    .select('status')
    .where('orderId', '=', orderId)
    .forUpdate()
    .executeTakeFirst();
  return row?.status ?? null;
}

export function findReservationLines(em: EntityManager, orderId: string): Promise<StockLine[]> {
  return db(em)
    .selectFrom('reservation_lines')
    .select(['productId', 'warehouse', 'quantity'])
    .where('orderId', '=', orderId)
    .orderBy('productId')
    .orderBy('warehouse')
    .execute();
}
