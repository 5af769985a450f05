// Builds the orders subgraph and its saga; never listens on import, so tests can start it on any port.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Counter, Histogram } from 'prom-client';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { createMetrics } from '../../../shared/observability/metrics.ts';
import { openDatabase } from '../../../shared/db/database.ts';
import { connectNats } from '../../../shared/messaging/nats.ts';
import { createRemoteTokenVerifier } from '../../../shared/auth/identity.ts';
import { applyPermissions } from '../../../shared/auth/shield.ts';
import { batchById, batchGroups } from '../../../shared/graphql/batch.ts';
import { startSubgraphService, type RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { createMessagingWorkers } from '../../../shared/messaging/service-messaging.ts';
import { Order, OrderItem, OrderStatusChange, ProductCopy } from './domain/order.entity.ts';
import { findHistory, findItems, findOrders } from './domain/queries.ts';
import { createSaga } from './saga/orchestrator.ts';
import { createTimeoutSweeper } from './saga/timeouts.ts';
import { deadLetterHandler } from './saga/dead-letters.ts';
import { productsSubgraphSource } from './messaging/product-source.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { OrdersContext } from './context.ts';

export interface OrdersConfig extends SubgraphConfig {
  /** How long one saga step may take before the order is cancelled with TIMEOUT. */
  readonly stepTimeoutMs: number;
  /** Where products not yet in the local copy are read from. */
  readonly productsUrl: string;
}

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

export async function startOrders(config: OrdersConfig, logger: Logger): Promise<RunningService> {
  const metrics = createMetrics(config.service);
  const settled = new Counter({
    name: 'orders_settled_total',
    help: 'Orders that reached CONFIRMED or CANCELLED, by status and reason',
    labelNames: ['status', 'reason'],
    registers: [metrics.registry],
  });
  const sagaDuration = new Histogram({
    name: 'order_saga_duration_seconds',
    help: 'From placeOrder to CONFIRMED or CANCELLED',
    labelNames: ['status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [metrics.registry],
  });
  const orm = await openDatabase({
    serverUrl: config.databaseUrl,
    databaseName: config.databaseName,
    entities: [Order, OrderItem, OrderStatusChange, ProductCopy],
    migrations,
    logger,
    poolSize: 20,
    onQuery: (source) => metrics.sqlQueries.inc({ source }),
  });
  try {
    const nats = await connectNats(config.natsUrl, config.service, logger);
    const saga = createSaga({
      stepTimeoutMs: config.stepTimeoutMs,
      logger,
      onSettled: (order) => {
        settled.inc({ status: order.status, reason: order.failureReason ?? '' });
        sagaDuration.observe({ status: order.status }, (Date.now() - order.createdAt.getTime()) / 1000);
      },
    });
    const messaging = await createMessagingWorkers({
      config,
      orm,
      nats,
      logger,
      metrics,
      consumers: {
        'orders-inventory-events': saga.handlers,
        'orders-payment-events': saga.handlers,
        'orders-product-events': saga.handlers,
        'orders-dead-letters': { raw: deadLetterHandler(saga) },
      },
    });
    const settings = {
      stepTimeoutMs: config.stepTimeoutMs,
      productSource: productsSubgraphSource(config.productsUrl),
    };
    const schema = applyPermissions(buildSubgraphSchema([{ typeDefs, resolvers }]), permissions);
    return await startSubgraphService<OrdersContext>({
      config,
      logger,
      metrics,
      schema,
      orm,
      nats,
      verifyToken: createRemoteTokenVerifier(config.jwksUrl),
      extendContext: (base) => ({
        ...base,
        settings,
        orders: batchById(
          (ids) => findOrders(base.em, ids),
          (o) => o.id,
        ),
        items: batchGroups(
          (ids) => findItems(base.em, ids),
          (i) => i.orderId,
        ),
        history: batchGroups(
          (ids) => findHistory(base.em, ids),
          (c) => c.orderId,
        ),
      }),
      workers: [...messaging, createTimeoutSweeper(orm, saga, logger)],
    });
  } catch (err) {
    await orm.close(true);
    throw err;
  }
}
