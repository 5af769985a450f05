// Reservations: the inventory side of the order saga. Every function takes an EntityManager that
// is already inside a transaction (the message handler's inbox transaction), so the change, the
// inbox row and the reply in the outbox commit together.
//
// Why nothing is oversold or sold twice, whatever the interleaving:
//  - One `reservations` row per order. reserve inserts it (`on conflict do nothing`) in the same
//    statement that takes the stock, and takes stock only if the row is new; the other calls
//    insert a tombstone or lock the row (`for update`), so calls for the same order run one
//    after another, and every transition checks the status it starts from: each happens at
//    most once.
//  - Stock rows are locked in one fixed order (product, warehouse) before they change, so two
//    orders never wait on each other in a cycle (no deadlocks).
//  - Each update is conditional (`available >= q`) and the table's CHECK constraints keep every
//    count >= 0: even a bug here cannot take stock below zero; it fails the transaction instead.
//  - A reservation is computed from the locked rows and applied only when every line can be
//    served, so a shortage changes no stock at all (all lines or none).
import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../../../../shared/errors.ts';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import type { ReservationStatus } from './stock.entity.ts';
import { query } from '../../../../shared/db/statements.ts';

export type { ReservationStatus };

export const MAX_LINES = 100;
export const MAX_QUANTITY = 1_000_000_000;

/** Why a reservation was refused (the `reason` of `inventory.evt.reservation_rejected`). */
export const REJECTION_REASONS = {
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
    }
  | { readonly outcome: 'REJECTED'; readonly reason: string; readonly replayed: boolean };

export interface ReservationChange {
  /** The reservation's status after the call; null when the order has none (commit only). */
  readonly status: ReservationStatus | null;
  /** Whether this call changed anything. */
  readonly changed: boolean;
}

/** Reserves every item for the order, or nothing. Idempotent per order. */
export async function reserve(
  em: EntityManager,
  orderId: string,
  items: readonly ReserveItem[],
): Promise<ReserveResult> {
  requireTransaction(em);
  const order = orderKey(orderId);
  const wanted = mergeItems(items);

  // Lock the candidate rows in (product, warehouse) order, then decide with what they hold.
  const rows = await query<{ product_id: string; warehouse: string; available: number }>(
    em,
    `select product_id, warehouse, available from stock
      where product_id = any(?::uuid[]) and available > 0
      order by product_id, warehouse for update`,
    [wanted.map((item) => item.productId)],
  );
  const lines = allocate(wanted, rows);
  const json = JSON.stringify(
    (lines ?? []).map((l) => ({ product_id: l.productId, warehouse: l.warehouse, quantity: l.quantity })),
  );
  // One statement: the reservation row, and (only if that row is new) the stock moved and the
  // lines recorded. An existing row means this order was reserved, rejected or released before:
  // nothing changes and the recorded outcome is the answer.
  const [result] = await query<{ created: string; moved: string }>(
    em,
    `with created as (
       insert into reservations (order_id, status, reason) values (?, ?, ?)
       on conflict (order_id) do nothing returning order_id),
     moved as (
       update stock s
          set available = s.available - a.quantity, reserved = s.reserved + a.quantity, version = s.version + 1
         from jsonb_to_recordset(?::jsonb) as a (product_id uuid, warehouse text, quantity int)
        where s.product_id = a.product_id and s.warehouse = a.warehouse and s.available >= a.quantity
          and exists (select 1 from created)
        returning 1),
     recorded as (
       insert into reservation_lines (order_id, product_id, warehouse, quantity)
       select ?, product_id, warehouse, quantity
         from jsonb_to_recordset(?::jsonb) as a (product_id uuid, warehouse text, quantity int)
        where exists (select 1 from created))
     select (select count(*) from created) as created, (select count(*) from moved) as moved`,
    [
      order,
      lines ? 'RESERVED' : 'REJECTED',
      lines ? null : REJECTION_REASONS.OUT_OF_STOCK,
      json,
      order,
      json,
    ],
  );
  if (Number(result?.created) === 0) return recordedOutcome(em, order);
  if (!lines) return { outcome: 'REJECTED', reason: REJECTION_REASONS.OUT_OF_STOCK, replayed: false };
  if (Number(result?.moved) !== lines.length) {
    // Cannot happen while the rows are locked; if it does, roll everything back.
    throw new Error(`reservation of order ${order}: stock changed under a lock`);
  }
  return { outcome: 'RESERVED', lines, replayed: false };
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
  await moveLines(em, order, 'release', 'RESERVED', 'RELEASED');
  return { status: 'RELEASED', changed: true };
}

/** The order is confirmed: RESERVED becomes COMMITTED and its held units are sold. */
export async function commit(em: EntityManager, orderId: string): Promise<ReservationChange> {
  requireTransaction(em);
  const order = orderKey(orderId);
  const status = await lockReservation(em, order);
  if (status !== 'RESERVED') return { status, changed: false };
  await moveLines(em, order, 'commit', 'RESERVED', 'COMMITTED');
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
    await moveLines(em, order, 'release', 'RESERVED', 'RELEASED');
    return { status: 'RELEASED', changed: true };
  }
  if (status !== 'COMMITTED') return { status, changed: false };
  await moveLines(em, order, 'restock', 'COMMITTED', 'RESTOCKED');
  return { status: 'RESTOCKED', changed: true };
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
  rows: readonly { product_id: string; warehouse: string; available: number }[],
): ReservedLine[] | null {
  const lines: ReservedLine[] = [];
  for (const item of wanted) {
    const candidates = rows
      .filter((row) => row.product_id === item.productId)
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
  const [row] = await query<{ status: ReservationStatus; reason: string | null }>(
    em,
    `select status, reason from reservations where order_id = ?`,
    [order],
  );
  if (!row) throw new Error(`reservation of order ${order} vanished`);
  if (row.status === 'RESERVED' || row.status === 'COMMITTED') {
    const lines = await query<{ product_id: string; warehouse: string; quantity: number }>(
      em,
      `select product_id, warehouse, quantity from reservation_lines where order_id = ? order by product_id, warehouse`,
      [order],
    );
    return {
      outcome: 'RESERVED',
      lines: lines.map((l) => ({ productId: l.product_id, warehouse: l.warehouse, quantity: l.quantity })),
      replayed: true,
    };
  }
  if (row.status === 'REJECTED') {
    return { outcome: 'REJECTED', reason: row.reason ?? REJECTION_REASONS.OUT_OF_STOCK, replayed: true };
  }
  return { outcome: 'REJECTED', reason: REJECTION_REASONS.ALREADY_RELEASED, replayed: true };
}

/** Records RELEASED for an order that has no reservation; false when it has one. */
async function writeTombstone(em: EntityManager, order: string): Promise<boolean> {
  const created = await query<{ order_id: string }>(
    em,
    `insert into reservations (order_id, status, reason) values (?, ?, ?)
     on conflict (order_id) do nothing returning order_id`,
    [order, 'RELEASED', RELEASED_BEFORE_RESERVE],
  );
  return created.length > 0;
}

async function lockReservation(em: EntityManager, order: string): Promise<ReservationStatus | null> {
  const [row] = await query<{ status: ReservationStatus }>(
    em,
    `select status from reservations where order_id = ? for update`,
    [order],
  );
  return row?.status ?? null;
}

/** How a reservation's lines move units between the counters of their stock rows. */
const MOVES = {
  release: 'available = s.available + l.quantity, reserved = s.reserved - l.quantity',
  commit: 'reserved = s.reserved - l.quantity, sold = s.sold + l.quantity',
  restock: 'available = s.available + l.quantity, sold = s.sold - l.quantity',
} as const;

/**
 * Moves the units of the order's lines between counters and sets the reservation's new status,
 * in one statement. The stock rows are locked in (product, warehouse) order first, as reserve
 * locks them, so two orders never wait on each other in a cycle.
 */
async function moveLines(
  em: EntityManager,
  order: string,
  move: keyof typeof MOVES,
  from: ReservationStatus,
  to: ReservationStatus,
): Promise<void> {
  const [row] = await query<{ updated: string }>(
    em,
    `with moved as (
       update stock s set ${MOVES[move]}, version = s.version + 1
         from (select s2.product_id, s2.warehouse, lines.quantity
                 from stock s2 join reservation_lines lines using (product_id, warehouse)
                where lines.order_id = ?
                order by s2.product_id, s2.warehouse
                  for update of s2) l
        where s.product_id = l.product_id and s.warehouse = l.warehouse
        returning 1),
     updated as (
       update reservations set status = ?, updated_at = now() where order_id = ? and status = ?
       returning 1)
     select (select count(*) from updated) as updated, (select count(*) from moved) as moved`,
    [order, to, order, from],
  );
  // The reservation row is locked by this transaction: it cannot have changed.
  if (Number(row?.updated) !== 1) throw new Error(`reservation of order ${order} is no longer ${from}`);
}
