// Low-stock alerts: a product's available units, summed over its warehouses, falling from at
// least the threshold to below it. Each such crossing is announced once, by the transaction that
// caused it (`inventory.evt.stock_low`), numbered by a per-product count; stock that comes back to
// the threshold or above re-arms it, since only a move from >= to < counts.
//
// The crossing is read off numbers the stock statements have in hand anyway: reserve's locked
// rows (every row of the product with units available) and what it takes; setStock's locked rows
// and the value it sets. Only a crossing costs a statement (the count). Units come back
// (release, restock) or move from reserved to sold (commit) without ever lowering `available`.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import { countLowStockCrossings } from './inventory.store.ts';

/**
 * Below this many units available, summed over warehouses, a product is low on stock: enough
 * warning to reorder for a small shop's slow movers (the demo catalogue stocks 10 to 90 units
 * a product), without alerting for products that are simply stocked thinly from the start,
 * since a product only alerts once it has had this many and then falls below.
 */
export const DEFAULT_LOW_STOCK_THRESHOLD = 5;

/** A product's available units before and after one transaction's change. */
export interface AvailableChange {
  readonly productId: string;
  readonly before: number;
  readonly after: number;
}

/** One crossing, numbered. */
export interface LowStock {
  readonly productId: string;
  /** Available units after the change that crossed. */
  readonly available: number;
  /** This product's crossings so far, this one included. */
  readonly crossing: number;
}

/** The changes that take a product from `threshold` or more to fewer. */
export function fellBelow(threshold: number, changes: readonly AvailableChange[]): AvailableChange[] {
  return changes.filter((change) => change.before >= threshold && change.after < threshold);
}

/**
 * Per product taken from: available units before (the sum of its rows) and after taking the
 * quantity. `rows` must be every row of those products that has units available.
 */
export function availableAfterTaking(
  rows: readonly { readonly productId: string; readonly available: number }[],
  taken: readonly { readonly productId: string; readonly quantity: number }[],
): AvailableChange[] {
  const before = new Map<string, number>();
  for (const row of rows) before.set(row.productId, (before.get(row.productId) ?? 0) + row.available);
  return taken.map(({ productId, quantity }) => {
    const available = before.get(productId) ?? 0;
    return { productId, before: available, after: available - quantity };
  });
}

/** Counts the crossings (one statement, none when there are none) and numbers them. */
export async function recordLowStock(
  em: EntityManager,
  crossed: readonly AvailableChange[],
): Promise<LowStock[]> {
  if (crossed.length === 0) return [];
  const counts = new Map(
    (
      await countLowStockCrossings(
        em,
        crossed.map((c) => c.productId),
      )
    ).map((row) => [row.productId, row.crossings]),
  );
  return crossed.map((c) => ({
    productId: c.productId,
    available: c.after,
    crossing: counts.get(c.productId)!,
  }));
}

export function stockLowEvents(
  threshold: number,
  lowStock: readonly LowStock[],
): OutgoingMessage<'inventory.evt.stock_low'>[] {
  return lowStock.map((low) => ({
    subject: 'inventory.evt.stock_low',
    payload: { v: 1, ...low, threshold },
  }));
}
