// The messaging parts of one service, as workers: its outbox relay, its consumers and the
// sampler of their backlogs for /metrics. The streams are ensured first, so whichever service
// starts first provisions them.
import { jetstreamManager } from '@nats-io/jetstream';
import type { SubgraphConfig } from '../config.ts';
import type { MikroORM } from '../db/database.ts';
import { databaseUrl } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Worker } from '../service/subgraph-service.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { NatsConnection } from './nats.ts';
import { ensureStreams, type ConsumerName } from './topology.ts';
import { provisionPatiently } from './provisioning.ts';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.ts';
import { createConsumer, type ConsumerOptions } from './consumer.ts';
import { createInboxJanitor } from './inbox-janitor.ts';
import { CommitPublisher } from './commit-publisher.ts';
import { createBacklogSampler } from './backlog-sampler.ts';

/**
 * What one consumer does: its handlers, and optionally what a batch of messages needs first and
 * which messages it can acknowledge without handling them.
 */
export type ConsumerSetup = Pick<
  ConsumerOptions,
  'handlers' | 'prepareBatch' | 'batchSize' | 'batchWaitMs' | 'unneeded' | 'retriesUntilDone'
>;

export interface MessagingOptions {
  readonly config: SubgraphConfig;
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly consumers: Readonly<Partial<Record<ConsumerName, ConsumerSetup>>>;
}

/** How this process publishes its outbox: right after the commits it sees, and the relay for the rest. */
export interface Publishing {
  readonly publisher: CommitPublisher;
  readonly relay: OutboxRelay;
}

/** Creates both; nothing is opened until the relay starts. */
export function createPublishing(options: Omit<MessagingOptions, 'orm' | 'consumers'>): Publishing {
  const { config, nats, logger, metrics } = options;
  const onPublished = (count: number) => metrics.messagesPublished.inc(count);
  const publisher = new CommitPublisher({
    nats,
    namespace: config.natsNamespace,
    logger,
    onPublished,
    onFailed: () => relay.nudge(),
  });
  const relay = createOutboxRelay({
    nats,
    databaseUrl: databaseUrl(config.databaseUrl, config.databaseName),
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    namespace: config.natsNamespace,
    replicas: config.natsReplicas,
    service: config.service,
    logger,
    onPublished,
    publisher,
  });
  return { publisher, relay };
}

/**
 * The relay and the consumers as workers. What the consumers' transactions write (and what
 * other code writes through `transactionalPublishing` with `publishing.publisher`) is published
 * by this process right after each commit; the relay publishes the rest (other writers, and
 * whatever that missed).
 */
export async function createMessagingWorkers(
  options: MessagingOptions & { readonly publishing: Publishing },
): Promise<Worker[]> {
  const { config, orm, nats, logger, metrics } = options;
  const { publisher, relay } = options.publishing;
  const jsm = await jetstreamManager(nats);
  await provisionPatiently(
    'creating the streams',
    () =>
      ensureStreams(jsm, {
        namespace: config.natsNamespace,
        replicas: config.natsReplicas,
        service: config.service,
      }),
    logger,
  );
  const consumers = Object.entries(options.consumers).map(([consumer, setup]) =>
    createConsumer({
      consumer: consumer as ConsumerName,
      ...setup!,
      orm,
      nats,
      namespace: config.natsNamespace,
      replicas: config.natsReplicas,
      logger,
      publisher,
      onHandled: (_subject, outcome) => metrics.messagesHandled.inc({ consumer, outcome }),
    }),
  );
  const sampler = createBacklogSampler({
    service: config.service,
    namespace: config.natsNamespace,
    consumers: Object.keys(options.consumers) as ConsumerName[],
    orm,
    nats,
    metrics,
    logger,
  });
  return [relay, ...consumers, ...(consumers.length > 0 ? [createInboxJanitor(orm, logger)] : []), sampler];
}
