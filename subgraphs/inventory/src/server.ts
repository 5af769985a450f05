// Builds the inventory subgraph; never listens on import, so tests can start it on any port.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { createMetrics } from '../../../shared/observability/metrics.ts';
import { openDatabase } from '../../../shared/db/database.ts';
import { connectNats, type NatsConnection } from '../../../shared/messaging/nats.ts';
import { applyPermissions } from '../../../shared/auth/shield.ts';
import { createRemoteTokenVerifier } from '../../../shared/auth/identity.ts';
import { batchById } from '../../../shared/graphql/batch.ts';
import { startSubgraphService, type RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { createMessagingWorkers } from '../../../shared/messaging/service-messaging.ts';
import { inventoryCommandHandlers } from './messaging/handlers.ts';
import { Reservation, ReservationLine, Stock } from './domain/stock.entity.ts';
import { stockLevels } from './domain/stock.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { InventoryContext } from './context.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

/** The entities of this subgraph (for openDatabase and for tests that open the database themselves). */
export const entities = [Stock, Reservation, ReservationLine];
export { migrations };

export async function startInventory(config: SubgraphConfig, logger: Logger): Promise<RunningService> {
  const metrics = createMetrics(config.service);
  const orm = await openDatabase({
    onQuery: (source) => metrics.sqlQueries.inc({ source }),
    serverUrl: config.databaseUrl,
    databaseName: config.databaseName,
    entities,
    migrations,
    logger,
  });
  let nats: NatsConnection | undefined;
  try {
    nats = await connectNats(config.natsUrl, config.service, logger);
    // The outbox relay publishes what this service writes; consumers handle what it is sent.
    const workers = await createMessagingWorkers({
      config,
      orm,
      nats,
      logger,
      metrics,
      consumers: { 'inventory-commands': inventoryCommandHandlers },
    });
    const schema = applyPermissions(buildSubgraphSchema([{ typeDefs, resolvers }]), permissions);
    return await startSubgraphService<InventoryContext>({
      config,
      logger,
      metrics,
      schema,
      orm,
      nats,
      verifyToken: createRemoteTokenVerifier(config.jwksUrl),
      extendContext: (base) => ({
        ...base,
        stock: batchById(
          (ids) => stockLevels(base.em, ids),
          (level) => level.productId,
        ),
      }),
      workers,
    });
  } catch (err) {
    await nats?.close().catch(() => undefined);
    await orm.close(true);
    throw err;
  }
}
