import type DataLoader from 'dataloader';
import type { BaseContext } from '../../../shared/service/subgraph-service.ts';
import type { CommitPublisher } from '../../../shared/messaging/commit-publisher.ts';
import type { Product } from './domain/product.entity.ts';
import type { ProductCounts } from './domain/product-counts.ts';

export interface ProductsContext extends BaseContext {
  /** Products by id, one SQL query per batch. */
  readonly products: DataLoader<string, Product | null>;
  /** Lists' totalCount, shared by this process's requests for a few seconds. */
  readonly productCounts: ProductCounts;
  /** Publishes a change's product event right after its commit; without it, the outbox relay does. */
  readonly publisher?: CommitPublisher;
}
