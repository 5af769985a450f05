import type DataLoader from 'dataloader';
import type { BaseContext } from '../../../shared/graphql/subgraph-service.ts';
import type { Product } from './domain/product.entity.ts';

export interface ProductsContext extends BaseContext {
  /** Products by id, one SQL query per batch. */
  readonly products: DataLoader<string, Product | null>;
}
