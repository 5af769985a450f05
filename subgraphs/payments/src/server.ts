// Builds the payments subgraph; never listens on import, so tests can start it on any port.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Counter } from 'prom-client';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { createMetrics } from '../../../shared/observability/metrics.ts';
import { openDatabase } from '../../../shared/db/database.ts';
import { connectNats, type NatsConnection } from '../../../shared/messaging/nats.ts';
import { applyPermissions } from '../../../shared/auth/shield.ts';
import { createRemoteTokenVerifier } from '../../../shared/auth/identity.ts';
import { batchById, batchGroups } from '../../../shared/graphql/batch.ts';
import { startSubgraphService, type RunningService } from '../../../shared/graphql/subgraph-service.ts';
import { createMessagingWorkers } from '../../../shared/messaging/service-messaging.ts';
import { Payment } from './domain/payment.entity.ts';
import { PaymentEvent } from './domain/payment-event.entity.ts';
import { findPaymentEvents, findPaymentsByIds, findPaymentsByOrderIds } from './domain/payments.ts';
import type { PaymentProvider } from './domain/provider/payment-provider.ts';
import { SimulatedPaymentProvider } from './domain/provider/simulated-provider.ts';
import { createPaymentHandlers } from './messaging/handlers.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { PaymentsContext } from './context.ts';

export interface PaymentsConfig extends SubgraphConfig {
  /** Failed authorize attempts per order before `pm_card_flaky` approves (simulated provider). */
  readonly flakyFailures: number;
}

export interface PaymentsOptions {
  /** Default: the simulated provider. */
  readonly provider?: PaymentProvider;
  /**
   * Run the `payments-commands` JetStream consumer and the outbox relay (default true). Off,
   * the subgraph only serves GraphQL (tests that drive the handlers themselves).
   */
  readonly messaging?: boolean;
}

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

export const entities = [Payment, PaymentEvent];

export async function startPayments(
  config: PaymentsConfig,
  logger: Logger,
  options: PaymentsOptions = {},
): Promise<RunningService> {
  const metrics = createMetrics(config.service);
  const operations = new Counter({
    name: 'payments_operations_total',
    help: 'Payment operations carried out, by operation and outcome (declines included)',
    labelNames: ['operation', 'outcome'],
    registers: [metrics.registry],
  });
  const provider = options.provider ?? new SimulatedPaymentProvider({ flakyFailures: config.flakyFailures });
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
    const handlers = createPaymentHandlers({ provider, operations });
    const schema = applyPermissions(buildSubgraphSchema([{ typeDefs, resolvers }]), permissions);
    return await startSubgraphService<PaymentsContext>({
      config,
      logger,
      metrics,
      schema,
      orm,
      nats,
      verifyToken: createRemoteTokenVerifier(config.jwksUrl),
      extendContext: (base) => ({
        ...base,
        paymentsById: batchById(
          (ids) => findPaymentsByIds(base.em, ids),
          (p) => p.id,
        ),
        paymentsByOrderId: batchById(
          (orderIds) => findPaymentsByOrderIds(base.em, orderIds),
          (p) => p.orderId,
        ),
        paymentEvents: batchGroups(
          (paymentIds) => findPaymentEvents(base.em, paymentIds),
          (e) => e.payment.id,
        ),
      }),
      workers:
        options.messaging === false
          ? []
          : await createMessagingWorkers({
              config,
              orm,
              nats,
              logger,
              metrics,
              consumers: { 'payments-commands': handlers },
            }),
    });
  } catch (err) {
    await nats?.close().catch(() => undefined);
    await orm.close(true);
    throw err;
  }
}
