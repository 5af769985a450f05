// Entry of the orders subgraph: configuration and signals only.
import { readInt, readSubgraphConfig, readUrls } from '../../../shared/config.ts';
import { runService } from '../../../shared/process.ts';
import { startOrders } from './server.ts';

await runService('orders', (logger) =>
  startOrders(
    {
      ...readSubgraphConfig('orders', 4004),
      stepTimeoutMs: readInt(process.env, 'SAGA_STEP_TIMEOUT_MS', 30_000, 100, 3_600_000),
      productsUrls: readUrls(process.env, 'PRODUCTS_URL', 'http://127.0.0.1:4002/graphql', [
        'http:',
        'https:',
      ]),
    },
    logger,
  ),
);
