// Reservations: the inventory side of the order saga. Every function takes an EntityManager that
// is already inside a transaction (the message handler's inbox transaction), so the change, the
// inbox row and the reply in the outbox commit together.
//
// Why nothing is oversold or sold twice, whatever the interleaving:
//  - One `reservations` row per order. reserve inserts it (`on conflict do nothing`) before it
//    takes the stock, and takes stock only if the row is new; the other calls insert a tombstone
//    or lock the row (`for update`), so calls for the same order run one after another, and
//    every transition checks the status it starts from: each happens at most once.
//  - Stock rows are locked in one fixed order (product, warehouse) before they change, so two
//    orders never wait on each other in a cycle (no deadlocks). A batch of commands in one
//    transaction keeps each command's locks while it runs the next, so it locks the rows of all
//    of them first, in one statement and in that order (lockStockForCommands): otherwise two
//    batches naming the same products in opposite orders would wait on each other.
//  - Units are taken only from locked rows that hold them, and the table's CHECK constraints keep
//    every count >= 0: even a bug here cannot take stock below zero; it fails the transaction.
//  - A reservation is computed from the locked rows and applied only when every line can be
//    served, so a shortage changes no stock at all (all lines or none).
import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../../../../shared/errors.ts';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import type { ReservationStatus, Stock } from './stock.entity.ts';
import {
  findReservation,
  findReservationLines,
  insertReservationIfNew,
  insertReservationTakingStock,
  lockAvailableStock,
  lockReservation,
  lockStockOfBatch,
  moveUnitsOf,
} from './inventory.store.ts';
import { availableAfterTaking, fellBelow, recordLowStock, type LowStock } from './low-stock.ts';

export type { ReservationStatus };

export const MAX_LINES = 100;
export const MAX_QUANTITY = 1_000_000_000;

/** Why a reservation was refused (the `reason` of `inventory.evt.reservation_rejected`). */
const REJECTION_REASONS = {
  /** Some line could not be served from all warehouses together. */
  OUT_OF_STOCK: 'OUT_OF_STOCK',
  /** The order was released (or restocked) before, e.g. after a timeout: it holds nothing any more. */
  ALREADY_RELEASED: 'ALREADY_RELEASED',
} as const;

/** The reason recorded on a release that arrived before any reserve. */
export const RELEASED_BEFORE_RESERVE = 'RELEASED_BEFORE_RESERVE';

export interface ReserveItem {
  readonly productId: string;
  readonly quantity: number;
}

export interface ReservedLine {
  readonly productId: string;
  readonly warehouse: string;
  readonly quantity: number;
}

export type ReserveResult =
  | {
      readonly outcome: 'RESERVED';
      readonly lines: readonly ReservedLine[];
      /** True when the order had been reserved before and this is the recorded outcome. */
      readonly replayed: boolean;
      /** With a low-stock threshold: the products this reservation took below it (low-stock.ts). */
      readonly lowStock?: readonly LowStock[];
    }
  | { readonly outcome: 'REJECTED'; readonly reason: string; readonly replayed: boolean };

export interface ReservationChange {
  /** The reservation's status after the call; null when the order has none (commit only). */
  readonly status: ReservationStatus | null;
  /** Whether this call changed anything. */
  readonly changed: boolean;
}

/**
 * Reserves every item for the order, or nothing. Idempotent per order. With `lowStockThreshold`,
 * a new reservation also says which products it took below the threshold (counted).
 */
export async function reserve(
  em: EntityManager,
  orderId: string,
  items: readonly ReserveItem[],
  options: { readonly lowStockThreshold?: number } = {},
): Promise<ReserveResult> {
  requireTransaction(em);
  const order = orderKey(orderId);
  const wanted = mergeItems(items);

  // Lock the candidate rows in (product, warehouse) order, then decide with what they hold.
  const rows = await lockAvailableStock(
    em,
    wanted.map((item) => item.productId),
  );
  const lines = allocate(wanted, rows);
  // One statement: the reservation row and, only if that row is new, its lines recorded and their
  // units taken. An existing row means this order was reserved, rejected or released before:
  // nothing changes and the recorded outcome is the answer.
  const { created, taken } = await insertReservationTakingStock(
    em,
    {
      orderId: order,
      status: lines ? 'RESERVED' : 'REJECTED',
      reason: lines ? null : REJECTION_REASONS.OUT_OF_STOCK,
    },
    lines ?? [],
  );
  if (!created) return recordedOutcome(em, order);
  if (!lines) return { outcome: 'REJECTED', reason: REJECTION_REASONS.OUT_OF_STOCK, replayed: false };
  if (taken !== lines.length) {
    // Cannot happen while the rows are locked; if it does, roll everything back.
    throw new Error(`reservation of order ${order}: stock changed under a lock`);
  }
  const threshold = options.lowStockThreshold;
  if (threshold === undefined) return { outcome: 'RESERVED', lines, replayed: false };
  // The locked rows are all the products' rows with units available: their sums are exact.
  const lowStock = await recordLowStock(em, fellBelow(threshold, availableAfterTaking(rows, wanted)));
  return { outcome: 'RESERVED', lines, replayed: false, lowStock };
}

/**
 * Gives held units back: RESERVED becomes RELEASED. With no reservation yet it records a RELEASED
 * tombstone, so a reserve that arrives later (after a timeout) is rejected. Anything else is left
 * as it is (a COMMITTED reservation is undone by `restock`).
 */
export async function release(em: EntityManager, orderId: string): Promise<ReservationChange> {
  requireTransaction(em);
  const order = orderKey(orderId);
  if (await writeTombstone(em, order)) return { status: 'RELEASED', changed: true };
  const status = await lockReservation(em, order);
  if (status !== 'RESERVED') return { status, changed: false };
  await moveLines(em, order, 'release', 'RELEASED');
  return { status: 'RELEASED', changed: true };
}

/** The order is confirmed: RESERVED becomes COMMITTED and its held units are sold. */
export async function commit(em: EntityManager, orderId: string): Promise<ReservationChange> {
  requireTransaction(em);
  const order = orderKey(orderId);
  const status = await lockReservation(em, order);
  if (status !== 'RESERVED') return { status, changed: false };
  await moveLines(em, order, 'commit', 'COMMITTED');
  return { status: 'COMMITTED', changed: true };
}

/**
 * A confirmed order was cancelled: COMMITTED becomes RESTOCKED and its units can be sold again.
 * A reservation that was never committed is released instead; with none at all, a tombstone is
 * written as by `release`.
 */
export async function restock(em: EntityManager, orderId: string): Promise<ReservationChange> {
  requireTransaction(em);
  const order = orderKey(orderId);
  if (await writeTombstone(em, order)) return { status: 'RELEASED', changed: true };
  const status = await lockReservation(em, order);
  if (status === 'RESERVED') {
    await moveLines(em, order, 'release', 'RELEASED');
    return { status: 'RELEASED', changed: true };
  }
  if (status !== 'COMMITTED') return { status, changed: false };
  await moveLines(em, order, 'restock', 'RESTOCKED');
  return { status: 'RESTOCKED', changed: true };
}

/** What lockStockForCommands needs of a command: its order, and the items of a reserve. */
export interface StockCommand {
  readonly orderId: string;
  readonly items?: readonly ReserveItem[];
}

/**
 * Locks up front every stock row a batch of commands may change: the rows of the products a
 * reserve names, and of those each order's recorded lines hold (release, commit, restock).
 * Each command then finds its rows locked already, and the batch has taken its locks in the
 * same order as any other transaction. A single command needs none of this.
 */
export async function lockStockForCommands(
  em: EntityManager,
  commands: readonly StockCommand[],
): Promise<void> {
  requireTransaction(em);
  // An id that is no UUID is for its own command to refuse (orderKey, mergeItems), not the batch.
  const productIds = commands.flatMap((command) => command.items ?? []).map((item) => item.productId);
  const orderIds = commands.map((command) => command.orderId);
  await lockStockOfBatch(em, { productIds: productIds.filter(isUuid), orderIds: orderIds.filter(isUuid) });
}

// --- helpers ---

function requireTransaction(em: EntityManager): void {
  if (!em.isInTransaction()) {
    throw new Error('reservations must run inside a transaction (em.transactional)');
  }
}

function orderKey(orderId: string): string {
  if (!isUuid(orderId)) throw new BadUserInputError('orderId', 'The order id must be a UUID');
  return orderId.toLowerCase();
}

/** One entry per product (quantities of repeated products added up), sorted by product id. */
function mergeItems(items: readonly ReserveItem[]): ReserveItem[] {
  if (items.length === 0 || items.length > MAX_LINES) {
    throw new BadUserInputError('items', `An order reserves 1 to ${MAX_LINES} lines`);
  }
  const totals = new Map<string, number>();
  for (const item of items) {
    if (!isUuid(item.productId))
      throw new BadUserInputError('items.productId', 'The product id must be a UUID');
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY) {
      throw new BadUserInputError('items.quantity', `A quantity is a whole number from 1 to ${MAX_QUANTITY}`);
    }
    const id = item.productId.toLowerCase();
    const total = (totals.get(id) ?? 0) + item.quantity;
    if (total > MAX_QUANTITY) throw new BadUserInputError('items.quantity', 'Too many units of one product');
    totals.set(id, total);
  }
  return [...totals]
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => compare(a.productId, b.productId));
}

/**
 * Serves each product from its warehouses, fullest first (fewest splits), or returns null when
 * some product has too few units in all of them together. Lines come out in lock order.
 */
function allocate(
  wanted: readonly ReserveItem[],
  rows: readonly Pick<Stock, 'productId' | 'warehouse' | 'available'>[],
): ReservedLine[] | null {
  const lines: ReservedLine[] = [];
  for (const item of wanted) {
    const candidates = rows
      .filter((row) => row.productId === item.productId)
      .sort((a, b) => b.available - a.available || compare(a.warehouse, b.warehouse));
    let missing = item.quantity;
    for (const row of candidates) {
      if (missing === 0) break;
      const quantity = Math.min(missing, row.available);
      lines.push({ productId: item.productId, warehouse: row.warehouse, quantity });
      missing -= quantity;
    }
    if (missing > 0) return null;
  }
  return lines.sort((a, b) => compare(a.productId, b.productId) || compare(a.warehouse, b.warehouse));
}

/** Code-point order: a stable order for results (the database locks rows in its own order). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function recordedOutcome(em: EntityManager, order: string): Promise<ReserveResult> {
  const row = await findReservation(em, order);
  if (!row) throw new Error(`reservation of order ${order} vanished`);
  if (row.status === 'RESERVED' || row.status === 'COMMITTED') {
    return { outcome: 'RESERVED', lines: await findReservationLines(em, order), replayed: true };
  }
  if (row.status === 'REJECTED') {
    return { outcome: 'REJECTED', reason: row.reason ?? REJECTION_REASONS.OUT_OF_STOCK, replayed: true };
  }
  return { outcome: 'REJECTED', reason: REJECTION_REASONS.ALREADY_RELEASED, replayed: true };
}

/** Records RELEASED for an order that has no reservation; false when it has one. */
function writeTombstone(em: EntityManager, order: string): Promise<boolean> {
  return insertReservationIfNew(em, { orderId: order, status: 'RELEASED', reason: RELEASED_BEFORE_RESERVE });
}

/**
 * Moves the units of the order's lines and sets the reservation's new status, in one statement
 * nobody waits for (see moveUnitsOf for the lock order).
 */
async function moveLines(
  em: EntityManager,
  order: string,
  move: 'release' | 'commit' | 'restock',
  to: ReservationStatus,
): Promise<void> {
  await moveUnitsOf(em, order, move, to);
}
