// Builds the inventory subgraph; never listens on import, so tests can start it on any port.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById } from '../../../shared/graphql/batch.ts';
import { startSubgraph } from '../../../shared/graphql/start-subgraph.ts';
import type { RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { Reservation, ReservationLine, Stock } from './domain/stock.entity.ts';
import { stockLevels } from './domain/stock.ts';
import { inventoryCommandHandlers } from './messaging/handlers.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { InventoryContext } from './context.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

/** The entities of this subgraph (for openDatabase and for tests that open the database themselves). */
export const entities = [Stock, Reservation, ReservationLine];
export { migrations };

export interface InventoryOptions {
  /** Run the outbox relay and the inventory-commands consumer (default true); off for tests that read the outbox. */
  readonly messaging?: boolean;
}

export function startInventory(
  config: SubgraphConfig,
  logger: Logger,
  options: InventoryOptions = {},
): Promise<RunningService> {
  return startSubgraph<InventoryContext>({
    config,
    logger,
    typeDefs,
    resolvers,
    permissions,
    entities,
    migrations,
    setup: () => ({
      messaging: options.messaging !== false,
      consumers: { 'inventory-commands': inventoryCommandHandlers },
      extendContext: (base) => ({
        ...base,
        stock: batchById(
          (ids) => stockLevels(base.em, ids),
          (level) => level.productId,
        ),
      }),
    }),
  });
}
