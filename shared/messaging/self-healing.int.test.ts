// Streams and consumers deleted under a running consumer, against real NATS and PostgreSQL
// (self-healing.ts): they are declared again, and what comes after is handled (once).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '../db/database.ts';
import type { Worker } from '../service/subgraph-service.ts';
import { connectNats, type NatsConnection } from './nats.ts';
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

const startConsumer = async () => {
  const consumer = createConsumer({
    consumer: 'orders-inventory-events',
    orm,
    nats,
    namespace: ns,
    replicas: 1,
    logger: env.logger,
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

const direct = (orderId: string) =>
  jetstream(nats).publish(qualify(ns, 'inventory.evt.released'), JSON.stringify({ v: 1, orderId }));
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
    } finally {
      await stopAll(consumer);
    }
  }, 60_000);
});
