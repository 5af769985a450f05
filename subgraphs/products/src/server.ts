// Builds the products subgraph; never listens on import, so tests can start it on any port.
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
import { Product } from './domain/product.entity.ts';
import { findProductsByIds } from './domain/catalogue.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { ProductsContext } from './context.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

/** The entities of this subgraph (for openDatabase and for tests that open the database themselves). */
export const entities = [Product];

export async function startProducts(config: SubgraphConfig, logger: Logger): Promise<RunningService> {
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
    const workers = await createMessagingWorkers({ config, orm, nats, logger, metrics, consumers: {} });
    const schema = applyPermissions(buildSubgraphSchema([{ typeDefs, resolvers }]), permissions);
    return await startSubgraphService<ProductsContext>({
      config,
      logger,
      metrics,
      schema,
      orm,
      nats,
      verifyToken: createRemoteTokenVerifier(config.jwksUrl),
      extendContext: (base) => ({
        ...base,
        products: batchById(
          (ids) => findProductsByIds(base.em, ids),
          (p) => p.id,
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
