// Builds the products subgraph; never listens on import, so tests can start it on any port.
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById, sharedLookups } from '../../../shared/graphql/batch.ts';
import { startSubgraph, type SubgraphOptions } from '../../../shared/service/start-subgraph.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { Product } from './domain/product.entity.ts';
import { findProductsByIds } from './domain/product-reads.store.ts';
import { countProducts, productFilterKey } from './domain/product.store.ts';
import { ProductCounts } from './domain/product-counts.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { ProductsContext } from './context.ts';

/** The entities of this subgraph (for openDatabase and for tests that open the database themselves). */
export const entities = [Product];

export function startProducts(
  config: SubgraphConfig,
  logger: Logger,
  options: SubgraphOptions = {},
): Promise<RunningService> {
  return startSubgraph<ProductsContext>({
    config,
    logger,
    messaging: options.messaging,
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers,
    permissions,
    entities,
    migrations,
    // products consumes nothing; its outbox relay publishes product events.
    setup: ({ orm, publisher }) => {
      // Every order line's product comes through here: concurrent requests share the statement,
      // run on the global EntityManager (a store statement needs no unit of work, so no fork).
      const productsById = sharedLookups(
        (ids) => findProductsByIds(orm.em, ids),
        (p) => p.id,
      );
      const productCounts = new ProductCounts((query) => countProducts(orm.em, query), productFilterKey);
      return {
        extendContext: () => ({
          publisher,
          products: batchById(productsById, (p) => p.id),
          productCounts,
        }),
      };
    },
  });
}
