// Entry of the inventory subgraph: configuration and signals only.
import { readInt, readSubgraphConfig } from '../../../shared/config.ts';
import { runService } from '../../../shared/process.ts';
import { DEFAULT_LOW_STOCK_THRESHOLD } from './domain/low-stock.ts';
import { startInventory } from './server.ts';

await runService('inventory', (logger) =>
  startInventory(
    {
      ...readSubgraphConfig('inventory', 4003),
      lowStockThreshold: readInt(
        process.env,
        'LOW_STOCK_THRESHOLD',
        DEFAULT_LOW_STOCK_THRESHOLD,
        1,
        1_000_000_000,
      ),
    },
    logger,
  ),
);
