// Builds the inventory subgraph; never listens on import, so tests can start it on any port.
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById, sharedLookups } from '../../../shared/graphql/batch.ts';
import { startSubgraph, type SubgraphOptions } from '../../../shared/service/start-subgraph.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { LowStockCrossings, Reservation, ReservationLine, Stock } from './domain/stock.entity.ts';
import { stockLevels } from './domain/stock.ts';
import { inventoryCommandConsumer } from './messaging/handlers.ts';
import { DEFAULT_LOW_STOCK_THRESHOLD } from './domain/low-stock.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { InventoryContext } from './context.ts';

/** The entities of this subgraph (for openDatabase and for tests that open the database themselves). */
export const entities = [Stock, Reservation, ReservationLine, LowStockCrossings];
export { migrations };

export interface InventoryConfig extends SubgraphConfig {
  /** LOW_STOCK_THRESHOLD: available units below which a product is low (default 5, low-stock.ts). */
  readonly lowStockThreshold?: number;
}

export function startInventory(
  config: InventoryConfig,
  logger: Logger,
  options: SubgraphOptions = {},
): Promise<RunningService> {
  const settings = { lowStockThreshold: config.lowStockThreshold ?? DEFAULT_LOW_STOCK_THRESHOLD };
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
    setup: ({ orm }) => {
      // Every product's stock comes through here: concurrent requests share the statement, run
      // on the global EntityManager (a store statement needs no unit of work, so no fork).
      const stockById = sharedLookups(
        (ids) => stockLevels(orm.em, ids),
        (level) => level.productId,
      );
      return {
        consumers: { 'inventory-commands': inventoryCommandConsumer(settings) },
        extendContext: () => ({ ...settings, stock: batchById(stockById, (level) => level.productId) }),
      };
    },
  });
}
