// Entry of the inventory subgraph: configuration and signals only.
import { readSubgraphConfig } from '../../../shared/config.ts';
import { runService } from '../../../shared/process.ts';
import { startInventory } from './server.ts';

await runService('inventory', (logger) => startInventory(readSubgraphConfig('inventory', 4003), logger));
