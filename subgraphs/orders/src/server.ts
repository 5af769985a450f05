// Builds the orders subgraph and its saga; never listens on import, so tests can start it on any port.
import { Counter, Histogram } from 'prom-client';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById, batchGroups, sharedLookups } from '../../../shared/graphql/batch.ts';
import { startSubgraph } from '../../../shared/service/start-subgraph.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import type { Metrics } from '../../../shared/observability/metrics.ts';
import { Order, OrderItem, OrderStatusChange, ProductCopy } from './domain/order.entity.ts';
import { findOrderItems, findOrdersWithItems, findStatusHistory } from './domain/order-reads.store.ts';
import { createSaga } from './saga/orchestrator.ts';
import { createTimeoutSweeper } from './saga/timeouts.ts';
import { deadLetterHandler } from './saga/dead-letters.ts';
import { productsSubgraphSource } from './catalog/product-source.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { OrdersContext } from './context.ts';

export interface OrdersConfig extends SubgraphConfig {
  /** How long one saga step may take before the order is cancelled with TIMEOUT. */
  readonly stepTimeoutMs: number;
  /** Where products not yet in the local copy are read from. */
  /** The products subgraph's instances (PRODUCTS_URL, comma-separated). */
  readonly productsUrls: readonly string[];
}

/** Business figures: orders by final status, and how long their saga took. */
function sagaMetrics(metrics: Metrics) {
  const settled = new Counter({
    name: 'orders_settled_total',
    help: 'Orders that reached CONFIRMED or CANCELLED, by status and reason',
    labelNames: ['status', 'reason'],
    registers: [metrics.registry],
  });
  const duration = new Histogram({
    name: 'order_saga_duration_seconds',
    help: 'From placeOrder to CONFIRMED or CANCELLED',
    labelNames: ['status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [metrics.registry],
  });
  return (order: Order) => {
    settled.inc({ status: order.status, reason: order.failureReason ?? '' });
    duration.observe({ status: order.status }, (Date.now() - order.createdAt.getTime()) / 1000);
  };
}

export function startOrders(config: OrdersConfig, logger: Logger): Promise<RunningService> {
  return startSubgraph<OrdersContext>({
    config,
    logger,
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers,
    permissions,
    entities: [Order, OrderItem, OrderStatusChange, ProductCopy],
    migrations,
    // Saga handlers: short transactions of statements nobody waits for.
    pipelined: true,
    poolSize: 20,
    setup: ({ orm, metrics, serviceHeaders, publisher }) => {
      const saga = createSaga({
        stepTimeoutMs: config.stepTimeoutMs,
        logger,
        onSettled: sagaMetrics(metrics),
      });
      const settings = {
        stepTimeoutMs: config.stepTimeoutMs,
        productSource: productsSubgraphSource(config.productsUrls, serviceHeaders),
        publisher,
      };
      // The hot read (`order`, `_entities`): concurrent requests share its statements.
      const ordersById = sharedLookups(
        (ids) => findOrdersWithItems(orm.em, ids),
        (o) => o.id,
      );
      return {
        consumers: {
          'orders-inventory-events': { handlers: saga.handlers, prepareBatch: saga.prepareBatch },
          'orders-payment-events': { handlers: saga.handlers, prepareBatch: saga.prepareBatch },
          'orders-product-events': { handlers: saga.handlers },
          'orders-dead-letters': { handlers: { raw: deadLetterHandler(saga) } },
        },
        workers: [createTimeoutSweeper(orm, saga, logger, publisher)],
        // Reads run store statements on the global EntityManager: no unit of work, no fork.
        extendContext: () => ({
          settings,
          reads: orm.em,
          orders: batchById(ordersById, (o) => o.id),
          items: batchGroups(
            (ids) => findOrderItems(orm.em, ids),
            (i) => i.orderId,
          ),
          history: batchGroups(
            (ids) => findStatusHistory(orm.em, ids),
            (c) => c.orderId,
          ),
        }),
      };
    },
  });
}
