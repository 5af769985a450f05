// The inventory tables' SQL, all of it built from the entities (stock.entity.ts) by Kysely: the
// one place that reads and writes stock and reservation rows. Rows come back typed as the
// entities are; a column added to an entity is known here without another edit. Each statement
// is compiled once per shape and then only bound (shared/db/store.ts).
//
// Writes whose result nobody reads go through `withoutWaiting`: in a transaction they travel with
// the next statement, in order (shared/db/pipelined-client.ts). Stock counts never go below
// zero: the table's CHECK constraint fails the transaction first (reservations.ts says why the
// callers never ask for that).
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type Insertable } from 'kysely';
import { withoutWaiting } from '../../../../shared/db/pipelined-client.ts';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import {
  LowStockCrossings,
  Reservation,
  ReservationLine,
  Stock,
  type ReservationStatus,
} from './stock.entity.ts';

type Tables = StoreTables<
  typeof Stock | typeof Reservation | typeof ReservationLine | typeof LowStockCrossings
>;

const statement = storeStatements([Stock, Reservation, ReservationLine, LowStockCrossings], (em) =>
  em.getKysely<Tables>(STORE_OPTIONS),
);

export type NewReservation = Insertable<Tables['reservations']>;
export type StockLine = Pick<ReservationLine, 'productId' | 'warehouse' | 'quantity'>;

// --- stock ---

/** The products' stock rows that have units available, locked, in (product, warehouse) order. */
export function lockAvailableStock(em: EntityManager, productIds: readonly string[]) {
  return lockAvailable(em, { productIds });
}
const lockAvailable = statement((db, p: { productIds: readonly string[] }) =>
  db
    .selectFrom('stock')
    .select(['productId', 'warehouse', 'available'])
    .where('productId', '=', (eb) => eb.fn.any(eb.val(p.productIds)))
    .where('available', '>', 0)
    .orderBy('productId')
    .orderBy('warehouse')
    .forUpdate(),
);

/**
 * Locks every stock row of the given products and of the products the orders' recorded lines
 * hold, in (product, warehouse) order, in one statement: what a batch of commands may change,
 * locked before any of them runs (reservations.ts, lockStockForCommands). Nobody reads the result.
 */
export async function lockStockOfBatch(em: EntityManager, batch: BatchStock): Promise<void> {
  await withoutWaiting(() => lockBatch(em, batch));
}
export type BatchStock = { readonly productIds: readonly string[]; readonly orderIds: readonly string[] };
const lockBatch = statement((db, p: BatchStock) =>
  db
    .selectFrom('stock')
    .select('productId')
    .where(
      'productId',
      'in',
      db
        .selectNoFrom((eb) =>
          eb.fn<string>('unnest', [eb.cast(eb.val(p.productIds), sql`uuid[]`)]).as('productId'),
        )
        .unionAll(
          db
            .selectFrom('reservation_lines')
            .select('productId')
            .where('orderId', '=', (eb) => eb.fn.any(eb.val(p.orderIds))),
        ),
    )
    .orderBy('productId')
    .orderBy('warehouse')
    .forUpdate(),
);

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
  move: keyof typeof MOVE_STATEMENTS,
  status?: ReservationStatus,
): Promise<void> {
  await withoutWaiting(() => MOVE_STATEMENTS[move](em, { orderId, status, now: new Date() }));
}

/** One statement per move of a recorded reservation (reserve takes its units as it records it); each with or without the status change (two shapes). */
const MOVE_STATEMENTS = {
  release: moveStatement('release'),
  commit: moveStatement('commit'),
  restock: moveStatement('restock'),
};

function moveStatement(move: keyof typeof MOVES) {
  const { from, to } = MOVES[move];
  return statement((db, p: { orderId: string; status?: ReservationStatus; now: Date }) => {
    const moved = db
      .updateTable('stock')
      .from((eb) =>
        eb
          .selectFrom('stock as held')
          .innerJoin('reservation_lines as line', (join) =>
            join
              .onRef('line.productId', '=', 'held.productId')
              .onRef('line.warehouse', '=', 'held.warehouse'),
          )
          .select(['held.productId', 'held.warehouse', 'line.quantity'])
          .where('line.orderId', '=', p.orderId)
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
    return p.status === undefined
      ? moved
      : db
          .with('moved', () => moved)
          .updateTable('reservations')
          .set({ status: p.status, updatedAt: p.now })
          .where('orderId', '=', p.orderId);
  });
}

/** Sets the units available in one warehouse; held (reserved) and sold units are left alone. */
export async function upsertAvailable(
  em: EntityManager,
  productId: string,
  warehouse: string,
  available: number,
): Promise<void> {
  await upsertStock(em, { productId, warehouse, available });
}
const upsertStock = statement((db, row: Insertable<Tables['stock']>) =>
  db
    .insertInto('stock')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['productId', 'warehouse']).doUpdateSet((eb) => ({
        available: eb.ref('excluded.available'),
        version: eb('stock.version', '+', 1),
      })),
    ),
);

/**
 * All of one product's stock rows, locked, in warehouse order (the order reserve locks them in):
 * what an administrator's change starts from, so its sums are those it changes.
 */
export function lockProductStock(em: EntityManager, productId: string) {
  return lockProduct(em, { productId });
}
const lockProduct = statement((db, p: { productId: string }) =>
  db
    .selectFrom('stock')
    .select(['warehouse', 'available', 'reserved'])
    .where('productId', '=', p.productId)
    .orderBy('warehouse')
    .forUpdate(),
);

/** Counts one more fall below the low-stock threshold for each product; returns the new counts. */
export function countLowStockCrossings(em: EntityManager, productIds: readonly string[]) {
  return countCrossings(em, { productIds });
}
const countCrossings = statement((db, p: { productIds: readonly string[] }) =>
  db
    .insertInto('low_stock_crossings')
    .columns(['productId', 'crossings'])
    .expression(
      db.selectNoFrom((eb) => [
        eb.fn<string>('unnest', [eb.cast(eb.val(p.productIds), sql`uuid[]`)]).as('productId'),
        eb.lit(1).as('crossings'),
      ]),
    )
    .onConflict((oc) =>
      oc
        .column('productId')
        .doUpdateSet((eb) => ({ crossings: eb('low_stock_crossings.crossings', '+', 1) })),
    )
    .returning(['productId', 'crossings']),
);

/** Available and reserved units summed over warehouses, per product that has stock. */
export async function sumStock(em: EntityManager, productIds: readonly string[]) {
  return sumStockOf(em, { productIds });
}
const sumStockOf = statement((db, p: { productIds: readonly string[] }) =>
  db
    .selectFrom('stock')
    .select((eb) => [
      'productId',
      eb.fn.sum<string>('available').as('available'),
      eb.fn.sum<string>('reserved').as('reserved'),
    ])
    .where('productId', '=', (eb) => eb.fn.any(eb.val(p.productIds)))
    .groupBy('productId'),
);

// --- reservations ---

/** Inserts the reservation unless the order has one; true when it was inserted. */
export async function insertReservationIfNew(
  em: EntityManager,
  reservation: NewReservation,
): Promise<boolean> {
  const created = await insertReservation(em, reservation);
  return created.length > 0;
}
const insertReservation = statement((db, reservation: NewReservation) =>
  db
    .insertInto('reservations')
    .values(reservation)
    .onConflict((oc) => oc.column('orderId').doNothing())
    .returning('orderId'),
);

/**
 * Inserts the reservation unless the order has one and, only if it was inserted, records its lines
 * and takes their units (available to reserved): one statement, one round trip. The caller has
 * locked the lines' stock rows (lockAvailableStock) and computed the lines from them; a row is
 * only taken from when it still holds the line's units, and `taken` says how many lines were, so
 * the caller can refuse a partial reservation. The lines bind as three arrays (one shape whatever
 * their number), zipped back into rows by `unnest`.
 */
export async function insertReservationTakingStock(
  em: EntityManager,
  reservation: NewReservation,
  lines: readonly StockLine[],
): Promise<{ created: boolean; taken: number }> {
  const [row] = await reserveStatement(em, {
    reservation,
    productIds: lines.map((line) => line.productId),
    warehouses: lines.map((line) => line.warehouse),
    quantities: lines.map((line) => line.quantity),
  });
  return { created: Number(row?.created) > 0, taken: Number(row?.taken) };
}
const reserveStatement = statement(
  (
    db,
    p: {
      reservation: NewReservation;
      productIds: readonly string[];
      warehouses: readonly string[];
      quantities: readonly number[];
    },
  ) => {
    const { from, to } = MOVES.reserve;
    return (
      db
        .with('created', (db) =>
          db
            .insertInto('reservations')
            .values(p.reservation)
            .onConflict((oc) => oc.column('orderId').doNothing())
            .returning('orderId'),
        )
        .with('lines', (db) =>
          db.selectNoFrom((eb) => [
            eb.fn<string>('unnest', [eb.cast(eb.val(p.productIds), sql`uuid[]`)]).as('productId'),
            eb.fn<string>('unnest', [eb.cast(eb.val(p.warehouses), sql`text[]`)]).as('warehouse'),
            eb.fn<number>('unnest', [eb.cast(eb.val(p.quantities), sql`int[]`)]).as('quantity'),
          ]),
        )
        // The units are taken from what `recorded` returns (its rows exist only when the reservation
        // is new); a CTE cannot see rows another CTE of the same statement wrote.
        .with('recorded', (db) =>
          db
            .insertInto('reservation_lines')
            .columns(['orderId', 'productId', 'warehouse', 'quantity'])
            .expression((eb) =>
              eb
                .selectFrom('lines')
                .select((eb) => [
                  eb.cast<string>(eb.val(p.reservation.orderId), 'uuid').as('orderId'),
                  'productId',
                  'warehouse',
                  'quantity',
                ])
                .where((eb) => eb.exists(eb.selectFrom('created').select(eb.lit(1).as('one')))),
            )
            .returning(['productId', 'warehouse', 'quantity']),
        )
        .with('taken', (db) =>
          db
            .updateTable('stock')
            .from('recorded as l')
            .set((eb) => ({
              [from]: eb(`stock.${from}`, '-', eb.ref('l.quantity')),
              [to]: eb(`stock.${to}`, '+', eb.ref('l.quantity')),
              version: eb('stock.version', '+', 1),
            }))
            .whereRef('stock.productId', '=', 'l.productId')
            .whereRef('stock.warehouse', '=', 'l.warehouse')
            .whereRef('stock.available', '>=', 'l.quantity')
            .returning('stock.productId'),
        )
        .selectNoFrom((eb) => [
          eb
            .selectFrom('created')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .as('created'),
          eb
            .selectFrom('taken')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .as('taken'),
        ])
    );
  },
);

export async function findReservation(em: EntityManager, orderId: string) {
  const [row] = await findReservationOf(em, { orderId });
  return row;
}
const findReservationOf = statement((db, p: { orderId: string }) =>
  db.selectFrom('reservations').select(['status', 'reason']).where('orderId', '=', p.orderId),
);

/** The reservation's status, locked for update; null when the order has none. */
export async function lockReservation(em: EntityManager, orderId: string): Promise<ReservationStatus | null> {
  const [row] = await lockReservationOf(em, { orderId });
  return row?.status ?? null;
}
const lockReservationOf = statement((db, p: { orderId: string }) =>
  db.selectFrom('reservations').select('status').where('orderId', '=', p.orderId).forUpdate(),
);

export function findReservationLines(em: EntityManager, orderId: string): Promise<StockLine[]> {
  return findLinesOf(em, { orderId });
}
const findLinesOf = statement((db, p: { orderId: string }) =>
  db
    .selectFrom('reservation_lines')
    .select(['productId', 'warehouse', 'quantity'])
    .where('orderId', '=', p.orderId)
    .orderBy('productId')
    .orderBy('warehouse'),
);
