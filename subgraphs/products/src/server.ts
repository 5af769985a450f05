// Builds the products subgraph; never listens on import, so tests can start it on any port.
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById } from '../../../shared/graphql/batch.ts';
import { startSubgraph, type SubgraphOptions } from '../../../shared/graphql/start-subgraph.ts';
import type { RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { Product } from './domain/product.entity.ts';
import { findProductsByIds } from './domain/catalogue.ts';
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
    setup: ({ publisher }) => ({
      extendContext: (base) => ({
        ...base,
        publisher,
        products: batchById(
          (ids) => findProductsByIds(base.em, ids),
          (p) => p.id,
        ),
      }),
    }),
  });
}
