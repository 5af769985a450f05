// Stock levels: what an administrator sets per warehouse, and the sums the graph shows. Knows
// nothing of GraphQL.
import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../../../../shared/errors.ts';
import { isUuid } from '../../../../shared/graphql/batch.ts';
import { enqueue } from '../../../../shared/messaging/outbox.ts';
import { lockProductStock, sumStock, upsertAvailable } from './inventory.store.ts';
import { fellBelow, recordLowStock, stockLowEvents } from './low-stock.ts';

export const MAX_UNITS = 1_000_000_000;
const WAREHOUSE = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export interface StockLevel {
  readonly available: number;
  readonly reserved: number;
}

export interface ProductStockLevel extends StockLevel {
  readonly productId: string;
}

export const NO_STOCK: StockLevel = { available: 0, reserved: 0 };

function validateWarehouse(value: string, field = 'warehouse'): string {
  if (!WAREHOUSE.test(value)) {
    throw new BadUserInputError(
      field,
      'A warehouse name has 1 to 40 characters: a-z, 0-9, "_" or "-", starting with a letter or digit',
    );
  }
  return value;
}

/**
 * Sets the units available in one warehouse; held (reserved) and sold units are left alone.
 * Taking the product below the low-stock threshold announces it, as a reservation would.
 */
export async function setStock(
  em: EntityManager,
  productId: string,
  warehouse: string,
  available: number,
  lowStockThreshold: number,
): Promise<StockLevel> {
  if (!isUuid(productId)) throw new BadUserInputError('productId', 'The product id must be a UUID');
  validateWarehouse(warehouse);
  if (!Number.isInteger(available) || available < 0 || available > MAX_UNITS) {
    throw new BadUserInputError('available', `It must be a whole number from 0 to ${MAX_UNITS}`);
  }
  const id = productId.toLowerCase();
  return em.transactional(async (tx) => {
    // Every row of the product locked first: the level is summed from what this change starts from.
    const rows = await lockProductStock(tx, id);
    await upsertAvailable(tx, id, warehouse, available);
    const before = rows.reduce((sum, row) => sum + row.available, 0);
    const replaced = rows.find((row) => row.warehouse === warehouse)?.available ?? 0;
    const level = {
      available: before - replaced + available,
      reserved: rows.reduce((sum, row) => sum + row.reserved, 0),
    };
    const change = { productId: id, before, after: level.available };
    const lowStock = await recordLowStock(tx, fellBelow(lowStockThreshold, [change]));
    await enqueue(tx, stockLowEvents(lowStockThreshold, lowStock));
    return level;
  });
}

/** Levels summed over warehouses, one query for any number of products; products without stock are absent. */
export async function stockLevels(
  em: EntityManager,
  productIds: readonly string[],
): Promise<ProductStockLevel[]> {
  const ids = productIds.filter(isUuid);
  if (ids.length === 0) return [];
  const rows = await sumStock(em, ids);
  return rows.map((row) => ({
    productId: row.productId,
    available: Number(row.available),
    reserved: Number(row.reserved),
  }));
}
