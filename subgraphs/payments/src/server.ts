// Builds the payments subgraph; never listens on import, so tests can start it on any port.
import { Counter } from 'prom-client';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { batchById, batchGroups, sharedLookups } from '../../../shared/graphql/batch.ts';
import { startSubgraph, type SubgraphOptions } from '../../../shared/service/start-subgraph.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { Payment } from './domain/payment.entity.ts';
import { PaymentEvent } from './domain/payment-event.entity.ts';
import { findPaymentEvents, lockPayments } from './domain/payments.ts';
import { findPaymentsOfOrders } from './domain/payment.store.ts';
import { findPaymentsByIds } from './domain/payment-reads.store.ts';
import type { PaymentProvider } from './domain/provider/payment-provider.ts';
import { SimulatedPaymentProvider } from './domain/provider/simulated-provider.ts';
import { createPaymentHandlers, retriedUntilDone } from './messaging/handlers.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { PaymentsContext } from './context.ts';

export interface PaymentsConfig extends SubgraphConfig {
  /** Failed authorize attempts per order before `pm_card_flaky` approves (simulated provider). */
  readonly flakyFailures: number;
}

export interface PaymentsOptions extends SubgraphOptions {
  /** Default: the simulated provider. */
  readonly provider?: PaymentProvider;
}

export const entities = [Payment, PaymentEvent];

export function startPayments(
  config: PaymentsConfig,
  logger: Logger,
  options: PaymentsOptions = {},
): Promise<RunningService> {
  return startSubgraph<PaymentsContext>({
    config,
    logger,
    messaging: options.messaging,
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers,
    permissions,
    entities,
    migrations,
    // Saga handlers: short transactions of statements nobody waits for.
    pipelined: true,
    setup: ({ orm, metrics }) => {
      const operations = new Counter({
        name: 'payments_operations_total',
        help: 'Payment operations carried out, by operation and outcome (declines included)',
        labelNames: ['operation', 'outcome'],
        registers: [metrics.registry],
      });
      const provider =
        options.provider ?? new SimulatedPaymentProvider({ flakyFailures: config.flakyFailures });
      const paymentsByOrderId = sharedLookups(
        (orderIds) => findPaymentsOfOrders(orm.em, orderIds),
        (p) => p.orderId,
      );
      return {
        consumers: {
          'payments-commands': {
            handlers: createPaymentHandlers({ provider, operations }),
            retriesUntilDone: retriedUntilDone,
            // A batch takes every order's command lock and reads their payments in two statements.
            prepareBatch: (em, payloads) =>
              lockPayments(
                em,
                payloads.map((p) => (p as { orderId: string }).orderId),
              ),
          },
        },
        // Store statements on the global EntityManager (no unit of work, so no fork); every
        // order's payment comes through `paymentsByOrderId`, whose statement concurrent requests share.
        extendContext: (base) => ({
          paymentsById: batchById(
            (ids) => findPaymentsByIds(orm.em, ids),
            (p) => p.id,
          ),
          paymentsByOrderId: batchById(paymentsByOrderId, (p) => p.orderId),
          paymentEvents: batchGroups(
            (paymentIds) => findPaymentEvents(base.em, paymentIds),
            (e) => e.payment.id,
          ),
        }),
      };
    },
  });
}
