import type DataLoader from 'dataloader';
import type { BaseContext } from '../../../shared/service/subgraph-service.ts';
import type { ProductStockLevel } from './domain/stock.ts';

export interface InventoryContext extends BaseContext {
  /** Summed stock by product id, one SQL query per batch; null when a product has none. */
  readonly stock: DataLoader<string, ProductStockLevel | null>;
  /** Available units (summed over warehouses) below which a product is low on stock. */
  readonly lowStockThreshold: number;
}
