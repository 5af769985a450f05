// Streams and consumers deleted under a running consumer and outbox relay, against real NATS and
// PostgreSQL (self-healing.ts): they are declared again, what comes after is handled (once), the
// outbox keeps its rows until they are published, and /health/ready answers 503 while they
// cannot be declared again and 200 once they are.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { databaseUrl, type MikroORM } from '../db/database.ts';
import { closeServer, createHttpServer, listen } from '../http/server.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { Worker } from '../service/subgraph-service.ts';
import { connectNats, type NatsConnection } from './nats.ts';
import { enqueue } from './outbox.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { createConsumer } from './consumer.ts';
import { consumerName, ensureStreams, qualify, streamName } from './topology.ts';
import { openMessagingDatabase } from '../../test/support/messaging-database.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';
import { Waiters } from '../../test/support/waiters.ts';

const env = testEnvironment();
const ns = env.id;
const dbName = `${env.id}_healing`;
const INVENTORY = streamName(ns, 'INVENTORY');
const CONSUMER = consumerName(ns, 'orders-inventory-events');
let orm: MikroORM;
let nats: NatsConnection;
let jsm: JetStreamManager;

/** How many times each order id was handled, and a wait for one to be. */
const handled = new Map<string, number>();
const waiters = new Waiters();
const handledOnce = (id: string) =>
  waiters.until(
    () => handled.has(id),
    () => new Error(`order ${id} was not handled`),
    30_000,
  );

beforeAll(async () => {
  orm = await openMessagingDatabase({
    serverUrl: env.resources.databaseUrl,
    databaseName: dbName,
    logger: env.logger,
  });
  nats = await connectNats(env.resources.natsUrl, 'self-healing-test', env.logger);
  jsm = await jetstreamManager(nats);
  await ensureStreams(jsm, { namespace: ns, replicas: 1 });
});

// Each test begins with the streams in place, whatever the one before left.
beforeEach(() => ensureStreams(jsm, { namespace: ns, replicas: 1 }));

afterAll(async () => {
  await orm?.close(true);
  await nats?.close();
  await dropTestResources(env.resources);
});

const startConsumer = async (stalledAfterMs?: number) => {
  const consumer = createConsumer({
    consumer: 'orders-inventory-events',
    orm,
    nats,
    namespace: ns,
    replicas: 1,
    logger: env.logger,
    stalledAfterMs,
    handlers: {
      'inventory.evt.released': (_em, { orderId }) => {
        handled.set(orderId, (handled.get(orderId) ?? 0) + 1);
        waiters.wake();
        return Promise.resolve();
      },
    },
  });
  await consumer.start();
  return consumer;
};

const startRelay = async (stalledAfterMs?: number) => {
  const relay = createOutboxRelay({
    nats,
    databaseUrl: databaseUrl(env.resources.databaseUrl, dbName),
    namespace: ns,
    replicas: 1,
    logger: env.logger,
    stalledAfterMs,
  });
  await relay.start();
  return relay;
};

const direct = (orderId: string) =>
  jetstream(nats).publish(qualify(ns, 'inventory.evt.released'), JSON.stringify({ v: 1, orderId }));
const viaOutbox = (orderId: string) =>
  orm.em
    .fork()
    .transactional((em) => enqueue(em, [{ subject: 'inventory.evt.released', payload: { v: 1, orderId } }]));
const outboxRows = async () =>
  Number((await orm.em.fork().execute<{ n: string }[]>('select count(*) as n from outbox'))[0]!.n);

/** Polls `probe` (no event tells when it changes) until it returns `wanted`, for at most `ms`. */
async function eventually<T>(probe: () => Promise<T>, wanted: T, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value === wanted || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopAll(...workers: Worker[]): Promise<void> {
  for (const worker of workers) await worker.stop();
}

describe('a consumer deleted under its running service', () => {
  it('is declared again from where it was, and handles what comes after, each message once', async () => {
    const consumer = await startConsumer();
    try {
      const before = randomUUID();
      await direct(before);
      await handledOnce(before);

      await jsm.consumers.delete(INVENTORY, CONSUMER);
      const after = randomUUID();
      await direct(after);
      await handledOnce(after);

      expect([handled.get(before), handled.get(after)]).toEqual([1, 1]);
      expect((await jsm.consumers.info(INVENTORY, CONSUMER)).config.durable_name).toBe(CONSUMER);
      await expect(consumer.readiness!.check()).resolves.toBeUndefined();
    } finally {
      await stopAll(consumer);
    }
  }, 60_000);
});

describe('a stream deleted under its running services', () => {
  it('is declared again by the relay and the consumer; the outbox row waits and is published', async () => {
    const consumer = await startConsumer();
    const relay = await startRelay();
    try {
      const before = randomUUID();
      await viaOutbox(before);
      await handledOnce(before);

      await jsm.streams.delete(INVENTORY);
      const after = randomUUID();
      await viaOutbox(after);
      await handledOnce(after);

      expect(handled.get(after)).toBe(1);
      expect(await eventually(outboxRows, 0)).toBe(0);
    } finally {
      await stopAll(relay, consumer);
    }
  }, 60_000);

  it('is declared again by a relay alone, whose rows stay in the outbox until then', async () => {
    const relay = await startRelay();
    try {
      await jsm.streams.delete(INVENTORY);
      await viaOutbox(randomUUID());
      const stored = () =>
        jsm.streams.info(INVENTORY).then(
          (i) => i.state.messages,
          () => -1,
        );
      expect(await eventually(stored, 1)).toBe(1);
      expect(await eventually(outboxRows, 0)).toBe(0);
    } finally {
      await stopAll(relay);
    }
  }, 60_000);
});

describe('readiness', () => {
  it('answers 503 while the stream cannot be declared again, and 200 once it is', async () => {
    const consumer = await startConsumer(300);
    const relay = await startRelay(300);
    const server = createHttpServer({
      logger: env.logger,
      metrics: createMetrics('test'),
      metricsToken: undefined,
      routes: {},
      readiness: [consumer.readiness!, relay.readiness!],
    });
    const port = await listen(server, 0, '127.0.0.1');
    /** The status of /health/ready and the checks that failed, e.g. `503 outbox-relay`. */
    const ready = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      const { checks } = (await response.json()) as { checks: { name: string; ok: boolean }[] };
      return [response.status, ...checks.filter((c) => !c.ok).map((c) => c.name)].join(' ');
    };
    try {
      expect(await ready()).toBe('200');
      // An operator's mistake in its place: a stream of that name that takes other subjects,
      // in memory (a change of storage is refused), so neither can declare it again.
      await jsm.streams.delete(INVENTORY);
      await jsm.streams.add({
        name: INVENTORY,
        subjects: [`${ns}.elsewhere.>`],
        storage: StorageType.Memory,
      });
      const after = randomUUID();
      await viaOutbox(after);
      const unready = '503 consumer:orders-inventory-events outbox-relay';
      expect(await eventually(ready, unready)).toBe(unready);
      expect(await outboxRows()).toBe(1);

      await jsm.streams.delete(INVENTORY);
      await handledOnce(after);
      expect(await eventually(ready, '200')).toBe('200');
    } finally {
      await closeServer(server);
      await stopAll(relay, consumer);
    }
  }, 60_000);
});
