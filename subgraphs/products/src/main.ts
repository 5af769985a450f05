// Entry of the products subgraph: configuration and signals only.
import { readSubgraphConfig } from '../../../shared/config.ts';
import { runService } from '../../../shared/process.ts';
import { startProducts } from './server.ts';

await runService('products', (logger) => startProducts(readSubgraphConfig('products', 4002), logger));
