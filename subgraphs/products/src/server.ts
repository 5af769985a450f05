// Builds the products subgraph; never listens on import, so tests can start it on any port.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById } from '../../../shared/graphql/batch.ts';
import { startSubgraph } from '../../../shared/graphql/start-subgraph.ts';
import type { RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { Product } from './domain/product.entity.ts';
import { findProductsByIds } from './domain/catalogue.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { ProductsContext } from './context.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

/** The entities of this subgraph (for openDatabase and for tests that open the database themselves). */
export const entities = [Product];

export interface ProductsOptions {
  /** Run the outbox relay (default true); off for tests that read the outbox. */
  readonly messaging?: boolean;
}

export function startProducts(
  config: SubgraphConfig,
  logger: Logger,
  options: ProductsOptions = {},
): Promise<RunningService> {
  return startSubgraph<ProductsContext>({
    config,
    logger,
    typeDefs,
    resolvers,
    permissions,
    entities,
    migrations,
    // products consumes nothing; its outbox relay publishes product events.
    setup: () => ({
      messaging: options.messaging !== false,
      extendContext: (base) => ({
        ...base,
        products: batchById(
          (ids) => findProductsByIds(base.em, ids),
          (p) => p.id,
        ),
      }),
    }),
  });
}
