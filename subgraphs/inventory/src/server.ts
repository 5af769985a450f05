// Builds the inventory subgraph; never listens on import, so tests can start it on any port.
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById } from '../../../shared/graphql/batch.ts';
import { startSubgraph, type SubgraphOptions } from '../../../shared/graphql/start-subgraph.ts';
import type { RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { Reservation, ReservationLine, Stock } from './domain/stock.entity.ts';
import { stockLevels } from './domain/stock.ts';
import { inventoryCommandHandlers } from './messaging/handlers.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { InventoryContext } from './context.ts';

/** The entities of this subgraph (for openDatabase and for tests that open the database themselves). */
export const entities = [Stock, Reservation, ReservationLine];
export { migrations };

export function startInventory(
  config: SubgraphConfig,
  logger: Logger,
  options: SubgraphOptions = {},
): Promise<RunningService> {
  return startSubgraph<InventoryContext>({
    config,
    logger,
    messaging: options.messaging,
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers,
    permissions,
    entities,
    migrations,
    // Saga handlers: short transactions of statements nobody waits for.
    pipelined: true,
    setup: () => ({
      consumers: { 'inventory-commands': { handlers: inventoryCommandHandlers } },
      extendContext: (base) => ({
        stock: batchById(
          (ids) => stockLevels(base.em, ids),
          (level) => level.productId,
        ),
      }),
    }),
  });
}
