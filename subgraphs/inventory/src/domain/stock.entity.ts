// The inventory tables. Stock moves only through the statements of inventory.store.ts, which
// Kysely builds from these definitions; they also give the ORM (and tests) typed access.
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const RESERVATION_STATUSES = ['RESERVED', 'RELEASED', 'COMMITTED', 'RESTOCKED', 'REJECTED'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** Units of one product in one warehouse. CHECK constraints keep every count >= 0. */
export const Stock = defineEntity({
  name: 'Stock',
  tableName: 'stock',
  properties: {
    productId: p.uuid().primary(),
    warehouse: p.string().length(40).primary(),
    available: p.integer().default(0),
    reserved: p.integer().default(0),
    sold: p.integer().default(0),
    version: p.integer().default(1),
  },
});
export type Stock = InferEntity<typeof Stock>;

/**
 * Per product: how many times its available units, summed over warehouses, have fallen below the
 * low-stock threshold (the `crossing` of `inventory.evt.stock_low`). A row of its own because the
 * threshold applies to the product while stock rows are per warehouse; it is written only when
 * stock crosses, so the saga's statements never touch it otherwise.
 */
export const LowStockCrossings = defineEntity({
  name: 'LowStockCrossings',
  tableName: 'low_stock_crossings',
  properties: {
    productId: p.uuid().primary(),
    crossings: p.integer(),
  },
});
export type LowStockCrossings = InferEntity<typeof LowStockCrossings>;

/** One per order: what inventory did for it. */
export const Reservation = defineEntity({
  name: 'Reservation',
  tableName: 'reservations',
  properties: {
    orderId: p.uuid().primary(),
    status: p.enum([...RESERVATION_STATUSES]),
    reason: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type Reservation = InferEntity<typeof Reservation>;

/** The units a reservation holds (or held), per product and warehouse. */
export const ReservationLine = defineEntity({
  name: 'ReservationLine',
  tableName: 'reservation_lines',
  properties: {
    orderId: p.uuid().primary(),
    productId: p.uuid().primary(),
    warehouse: p.string().length(40).primary(),
    quantity: p.integer(),
  },
});
export type ReservationLine = InferEntity<typeof ReservationLine>;
