// Gauges of what is waiting, sampled on an interval rather than per message (no extra round trip
// on the message path): for each of this service's JetStream consumers the messages not yet
// delivered (its lag), delivered and not yet acknowledged, and redelivered and not yet
// acknowledged, from the consumer's info; this service's outbox rows not yet published and the
// age of the oldest; and, in the service that owns the dead-letter stream, the dead letters it
// holds per consumer they were taken from. Every instance of a service samples the same
// figures: dashboards take the max over instances.
import { Gauge } from 'prom-client';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { backgroundFork, withQuerySource, type MikroORM } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Worker } from '../service/subgraph-service.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { NatsConnection } from './nats.ts';
import {
  CONSUMERS,
  STREAMS,
  consumerName,
  qualify,
  streamName,
  unqualify,
  type ConsumerName,
} from './topology.ts';

/** Often enough for a Prometheus that scrapes every 15 s; a few small requests each time. */
const SAMPLE_INTERVAL_MS = 10_000;
/**
 * Outbox rows counted at most: counting reads every row, and the outbox grows only while NATS
 * is away, which is when every instance of every service samples it. Past this many the gauge
 * says "at least"; the oldest row's age still tells how long it has been.
 */
const OUTBOX_COUNT_LIMIT = 100_000;

export interface BacklogSamplerOptions {
  readonly service: string;
  readonly namespace: string;
  readonly consumers: readonly ConsumerName[];
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly intervalMs?: number;
  /** Outbox rows counted at most (OUTBOX_COUNT_LIMIT). */
  readonly outboxCountLimit?: number;
}

export interface BacklogSampler extends Worker {
  /** Takes one sample now (what the interval does). */
  sample(): Promise<void>;
}

/** The sampler's gauges, registered in the process's registry. */
export function backlogGauges(metrics: Metrics) {
  const registers = [metrics.registry];
  const byConsumer = (name: string, help: string) =>
    new Gauge<'consumer'>({ name, help, labelNames: ['consumer'], registers });
  return {
    pending: byConsumer(
      'jetstream_consumer_pending_messages',
      "Messages on a consumer's stream not yet delivered to it (its lag), sampled from the consumer's info",
    ),
    ackPending: byConsumer(
      'jetstream_consumer_ack_pending_messages',
      'Messages delivered to a consumer and not yet acknowledged, sampled',
    ),
    redelivered: byConsumer(
      'jetstream_consumer_redelivered_messages',
      'Messages delivered to a consumer more than once and not yet acknowledged, sampled',
    ),
    deadLetters: byConsumer(
      'dead_letters_stored',
      'Dead letters kept in the dead-letter stream, by the consumer they were taken from (npm run dlq lists them), sampled',
    ),
    outboxBacklog: new Gauge({
      name: 'outbox_backlog_messages',
      help: `Outbox rows not yet published and deleted, sampled; counted up to ${OUTBOX_COUNT_LIMIT} (that many means at least that many)`,
      registers,
    }),
    outboxAge: new Gauge({
      name: 'outbox_oldest_message_age_seconds',
      help: 'Age of the oldest outbox row (0 when the outbox is empty), sampled',
      registers,
    }),
  };
}

/** How many rows the outbox holds (counted up to `limit`), and the age of the oldest in seconds. */
async function readOutbox(orm: MikroORM, limit: number): Promise<{ backlog: number; age: number }> {
  // Both bounded whatever the outbox holds: the count stops at the limit, and the oldest row is
  // the first by its primary key (rows are numbered as they are written).
  const [row] = await withQuerySource('background', () =>
    backgroundFork(orm)
      .getConnection()
      .execute<{ backlog: number; age: number | null }[]>(
        `select (select count(*)::int from (select from outbox limit ?) counted) as backlog,
                (select extract(epoch from now() - created_at)::float8 from outbox order by seq limit 1) as age`,
        [limit],
      ),
  );
  return { backlog: row?.backlog ?? 0, age: Math.max(0, row?.age ?? 0) };
}

export function createBacklogSampler(options: BacklogSamplerOptions): BacklogSampler {
  const { namespace, logger } = options;
  const gauges = backlogGauges(options.metrics);
  const ownsDeadLetters = STREAMS.DEAD_LETTERS.owner === options.service;
  let jsm: Promise<JetStreamManager> | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** The sample under way: all of it, and its database read alone. */
  let running: { all: Promise<void>; database: Promise<unknown> } | undefined;
  let stopped = false;

  async function sampleConsumers(manager: JetStreamManager): Promise<void> {
    for (const consumer of options.consumers) {
      if (stopped) return;
      const stream = streamName(namespace, CONSUMERS[consumer].stream);
      // Absent until the consumer has started once; NATS away: the gauges keep their last value.
      const info = await manager.consumers
        .info(stream, consumerName(namespace, consumer))
        .catch(() => undefined);
      if (!info) continue;
      gauges.pending.set({ consumer }, info.num_pending);
      gauges.ackPending.set({ consumer }, info.num_ack_pending);
      gauges.redelivered.set({ consumer }, info.num_redelivered);
    }
  }

  async function sampleDeadLetters(manager: JetStreamManager): Promise<void> {
    const prefix = 'dlq.';
    const info = await manager.streams.info(streamName(namespace, 'DEAD_LETTERS'), {
      subjects_filter: qualify(namespace, `${prefix}>`),
    });
    gauges.deadLetters.reset();
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      gauges.deadLetters.set({ consumer: unqualify(namespace, subject).slice(prefix.length) }, count);
    }
  }

  async function sampleOutbox(): Promise<void> {
    const { backlog, age } = await readOutbox(options.orm, options.outboxCountLimit ?? OUTBOX_COUNT_LIMIT);
    gauges.outboxBacklog.set(backlog);
    gauges.outboxAge.set(age);
  }

  async function sampleNats(): Promise<void> {
    jsm ??= jetstreamManager(options.nats).catch((err: unknown) => {
      jsm = undefined;
      throw err;
    });
    const manager = await jsm;
    await sampleConsumers(manager);
    if (ownsDeadLetters && !stopped) await sampleDeadLetters(manager);
  }

  function startSample(): NonNullable<typeof running> {
    const database = sampleOutbox();
    const all = Promise.allSettled([sampleNats(), database]).then((results) => {
      for (const result of results) {
        if (result.status === 'rejected') logger.debug({ err: result.reason }, 'backlog sample failed');
      }
    });
    return { all, database: database.catch(() => undefined) };
  }

  return {
    name: 'backlog-sampler',
    sample: () => startSample().all,
    start() {
      const tick = () => {
        if (running) return;
        const started = (running = startSample());
        void started.all.finally(() => (running = undefined));
      };
      tick();
      timer = setInterval(tick, options.intervalMs ?? SAMPLE_INTERVAL_MS);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      // Only the database read is waited for (the database closes after the workers). A NATS
      // request is not: while NATS is away each one waits out its timeout, 5 s a consumer, which
      // held a stop for up to 25 s (orders), and the gauges it would set no longer matter.
      await running?.database;
    },
  };
}
