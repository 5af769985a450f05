// Builds the payments subgraph; never listens on import, so tests can start it on any port.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Counter } from 'prom-client';
import type { SubgraphConfig } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { createMetrics } from '../../../shared/observability/metrics.ts';
import { openDatabase, type MikroORM } from '../../../shared/db/database.ts';
import { connectNats, type NatsConnection } from '../../../shared/messaging/nats.ts';
import { applyPermissions } from '../../../shared/auth/shield.ts';
import { createRemoteTokenVerifier } from '../../../shared/auth/identity.ts';
import { batchById, batchGroups } from '../../../shared/graphql/batch.ts';
import {
  startSubgraphService,
  type RunningService,
  type Worker,
} from '../../../shared/graphql/subgraph-service.ts';
import { Payment } from './domain/payment.entity.ts';
import { PaymentEvent } from './domain/payment-event.entity.ts';
import { findPaymentEvents, findPaymentsByIds, findPaymentsByOrderIds } from './domain/payments.ts';
import type { PaymentProvider } from './domain/provider/payment-provider.ts';
import { SimulatedPaymentProvider } from './domain/provider/simulated-provider.ts';
import { createPaymentHandlers, type PaymentHandlers } from './messaging/handlers.ts';
import { migrations } from './migrations/index.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import type { PaymentsContext } from './context.ts';

export interface PaymentsConfig extends SubgraphConfig {
  /** Failed authorize attempts per order before `pm_card_flaky` approves (simulated provider). */
  readonly flakyFailures: number;
}

/** What the message consumers need: the command handlers and the connections to run them on. */
export interface PaymentsMessaging {
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  readonly handlers: PaymentHandlers;
  readonly logger: Logger;
}

export interface PaymentsOptions {
  /** Default: the simulated provider. */
  readonly provider?: PaymentProvider;
  /** Background workers (the JetStream consumers of payments.cmd.*, the outbox relay). */
  readonly workers?: (messaging: PaymentsMessaging) => readonly Worker[];
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
    onQuery: () => metrics.sqlQueries.inc(),
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
          (e) => e.paymentId,
        ),
      }),
      workers: options.workers?.({ orm, nats, handlers, logger }) ?? [],
    });
  } catch (err) {
    await nats?.close().catch(() => undefined);
    await orm.close(true);
    throw err;
  }
}
