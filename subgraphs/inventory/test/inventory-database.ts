// The database of a test's inventory subgraph, opened again by the test so it can drive the
// domain (reservations) in transactions of its own, as the message handlers do; pipelined like
// the subgraph's own connections. `poolSize`: at least the transactions a test races at once.
import type { SubgraphConfig } from '../../../shared/config.ts';
import { openDatabase, type MikroORM } from '../../../shared/db/database.ts';
import type { Logger } from '../../../shared/logger.ts';
import { entities, migrations } from '../src/server.ts';

export function openInventoryDatabase(
  config: SubgraphConfig,
  logger: Logger,
  poolSize: number,
): Promise<MikroORM> {
  return openDatabase({
    serverUrl: config.databaseUrl,
    databaseName: config.databaseName,
    entities,
    migrations,
    logger,
    poolSize,
    pipelined: true,
  });
}
