// Builds the notifications subgraph; never listens on import, so tests can start it on any port.
import { Histogram } from 'prom-client';
import type { Logger } from '../../../shared/logger.ts';
import { startSubgraph, type SubgraphOptions } from '../../../shared/service/start-subgraph.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import type { NotificationsConfig } from './config.ts';
import { createDeliveryWorker } from './delivery/delivery-worker.ts';
import { createMailer } from './delivery/mailer.ts';
import { entities } from './domain/entities.ts';
import {
  prepareOrderEvents,
  orderEventHandlers,
  productEventHandlers,
  stockEventHandlers,
  unneededOrderEvent,
  userEventHandlers,
} from './messaging/handlers.ts';
import { waitsPatiently } from './domain/record.ts';
import { migrations } from './migrations/index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import type { NotificationsContext } from './context.ts';

export { entities };

export function startNotifications(
  config: NotificationsConfig,
  logger: Logger,
  options: SubgraphOptions = {},
): Promise<RunningService> {
  return startSubgraph<NotificationsContext>({
    config,
    logger,
    messaging: options.messaging,
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers,
    permissions,
    entities,
    migrations,
    // Consumers' transactions send their writes without waiting for each (see notifications.store.ts).
    pipelined: true,
    // Four consumers and the delivery worker's batches in flight each hold a connection.
    poolSize: 16,
    setup: ({ orm, metrics }) => {
      const latency = new Histogram({
        name: 'notification_delivery_seconds',
        help: 'From a notification being recorded to the mail server accepting it (or the attempt that ended it), by outcome',
        labelNames: ['outcome'],
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
        registers: [metrics.registry],
      });
      const delivery = createDeliveryWorker({
        orm,
        mailer: createMailer({
          smtpUrl: config.smtpUrl,
          mailDir: config.mailDir,
          from: config.mailFrom,
          logger,
        }),
        logger,
        retry: config.retry,
        latency,
      });
      return {
        consumers: {
          'notifications-user-events': { handlers: userEventHandlers },
          'notifications-product-events': { handlers: productEventHandlers },
          'notifications-order-events': {
            handlers: orderEventHandlers,
            batchWaitMs: config.batchWaitMs,
            prepareBatch: prepareOrderEvents,
            unneeded: unneededOrderEvent,
            retriesUntilDone: waitsPatiently,
          },
          'notifications-stock-events': { handlers: stockEventHandlers },
        },
        workers: [delivery],
        extendContext: (base) => base,
      };
    },
  });
}
