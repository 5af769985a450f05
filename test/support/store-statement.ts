// A store's statement as the store sends it (SQL text and parameters), compiled by an ORM opened
// on a test subgraph's database, so that a test can EXPLAIN what the subgraph really runs.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SubgraphConfig } from '../../shared/config.ts';
import { openDatabase, type DatabaseOptions } from '../../shared/db/database.ts';
import type { Logger } from '../../shared/logger.ts';

export async function compileStoreStatement<T>(
  config: SubgraphConfig,
  logger: Logger,
  model: Pick<DatabaseOptions, 'entities' | 'migrations'>,
  compile: (em: EntityManager) => T,
): Promise<T> {
  const orm = await openDatabase({
    serverUrl: config.databaseUrl,
    databaseName: config.databaseName,
    ...model,
    logger,
  });
  try {
    return compile(orm.em.fork());
  } finally {
    await orm.close(true);
  }
}
