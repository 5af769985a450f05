// The backlog sampler against real PostgreSQL and NATS: a consumer's lag and unacknowledged
// messages, the outbox rows not yet published, and the dead letters kept per consumer. NATS is a
// server of this file's own with the users of nats/permissions.ts, so that each sampler runs
// with only what its service's user may ask.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { MikroORM } from '../db/database.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { connectNats, type NatsConnection } from './nats.ts';
import { enqueue } from './outbox.ts';
import { publishDeadLetter } from './dead-letters.ts';
import { createBacklogSampler } from './backlog-sampler.ts';
import {
  consumerName,
  ensureConsumer,
  ensureStreams,
  qualify,
  streamName,
  type ConsumerName,
} from './topology.ts';
import type { ServiceUser } from '../../nats/credentials.ts';
import { startNatsServer, type StartedNats } from '../../scripts/lib/nats-server.ts';
import { freePort } from '../../scripts/lib/ports.ts';
import { openMessagingDatabase } from '../../test/support/messaging-database.ts';
import { startStandIn } from '../../test/support/tcp-stand-in.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';

const env = testEnvironment();
const ns = env.id;
let orm: MikroORM;
let dataDir: string;
let server: StartedNats;
let admin: NatsConnection;
const opened: NatsConnection[] = [];

beforeAll(async () => {
  orm = await openMessagingDatabase({
    serverUrl: env.resources.databaseUrl,
    databaseName: `${env.id}_backlog`,
    logger: env.logger,
  });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'backlog-sampler-'));
  server = await startNatsServer({
    address: { host: '127.0.0.1', port: await freePort() },
    dataDir,
    namespace: ns,
  });
  admin = await connectNats(server.url, 'backlog-test', env.logger, server.credentials.admin);
  const jsm = await jetstreamManager(admin);
  await ensureStreams(jsm, { namespace: ns, replicas: 1 });
  for (const consumer of ['inventory-commands', 'orders-dead-letters'] as const)
    await ensureConsumer(jsm, { namespace: ns, replicas: 1 }, consumer);
});

afterAll(async () => {
  await Promise.allSettled([...opened, admin].map((nc) => nc?.close()));
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await orm?.close(true);
  await dropTestResources(env.resources);
});

// Each test counts its own outbox rows.
beforeEach(async () => {
  await orm.em.fork().getConnection().execute('delete from outbox');
});

/** One sample by `service`'s sampler, connected as its NATS user, for its `consumers`. */
async function sample(
  service: ServiceUser,
  consumers: ConsumerName[],
  outboxCountLimit?: number,
): Promise<Metrics> {
  const nats = await connectNats(server.url, service, env.logger, server.credentials[service]);
  opened.push(nats);
  const metrics = createMetrics(service);
  await createBacklogSampler({
    service,
    namespace: ns,
    consumers,
    orm,
    nats,
    metrics,
    logger: env.logger,
    ...(outboxCountLimit !== undefined && { outboxCountLimit }),
  }).sample();
  return metrics;
}

/** The value of a gauge for the given labels (undefined when it has none for them). */
async function gauge(metrics: Metrics, name: string, labels: Record<string, string> = {}) {
  const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

it("samples a consumer's lag and unacknowledged messages, and the outbox backlog", async () => {
  const js = jetstream(admin);
  for (let i = 0; i < 3; i++) await js.publish(qualify(ns, 'inventory.cmd.sample'), '{}');
  // One delivered and left unacknowledged.
  const consumer = await js.consumers.get(
    streamName(ns, 'INVENTORY'),
    consumerName(ns, 'inventory-commands'),
  );
  const held = await consumer.next({ expires: 5000 });
  expect(held).not.toBeNull();
  const orderId = crypto.randomUUID();
  await orm.em.fork().transactional((em) =>
    enqueue(
      em,
      [1, 2].map(() => ({ subject: 'inventory.evt.released' as const, payload: { v: 1 as const, orderId } })),
    ),
  );

  const inventory = await sample('inventory', ['inventory-commands']);
  const labels = { consumer: 'inventory-commands' };
  expect(await gauge(inventory, 'jetstream_consumer_pending_messages', labels)).toBe(2);
  expect(await gauge(inventory, 'jetstream_consumer_ack_pending_messages', labels)).toBe(1);
  expect(await gauge(inventory, 'jetstream_consumer_redelivered_messages', labels)).toBe(0);
  expect(await gauge(inventory, 'outbox_backlog_messages')).toBe(2);
  expect(await gauge(inventory, 'outbox_oldest_message_age_seconds')).toBeLessThan(60);
  // Only the owner of the dead-letter stream reports what it holds.
  expect(await gauge(inventory, 'dead_letters_stored', labels)).toBeUndefined();
  held!.ack();
});

it('counts the outbox only up to its limit, and ages it by its first row', async () => {
  const orderId = crypto.randomUUID();
  await orm.em.fork().transactional((em) =>
    enqueue(
      em,
      [1, 2, 3].map(() => ({
        subject: 'inventory.evt.released' as const,
        payload: { v: 1 as const, orderId },
      })),
    ),
  );
  await orm.em
    .fork()
    .getConnection()
    .execute(
      `update outbox set created_at = now() - interval '90 seconds' where seq = (select min(seq) from outbox)`,
    );

  const inventory = await sample('inventory', [], 2);
  expect(await gauge(inventory, 'outbox_backlog_messages')).toBe(2);
  const age = await gauge(inventory, 'outbox_oldest_message_age_seconds');
  expect(age).toBeGreaterThanOrEqual(90);
  expect(age).toBeLessThan(150);
});

it('samples the dead letters kept, by the consumer they were taken from', async () => {
  const js = jetstream(admin);
  for (const streamSequence of [101, 102]) {
    await publishDeadLetter(js, ns, {
      subject: qualify(ns, 'inventory.cmd.sample'),
      data: new TextEncoder().encode('{}'),
      stream: streamName(ns, 'INVENTORY'),
      streamSequence,
      consumer: 'inventory-commands',
      deliveries: 8,
      error: 'sampled',
    });
  }
  const orders = await sample('orders', ['orders-dead-letters']);
  expect(await gauge(orders, 'dead_letters_stored', { consumer: 'inventory-commands' })).toBe(2);
  expect(
    await gauge(orders, 'jetstream_consumer_pending_messages', { consumer: 'orders-dead-letters' }),
  ).toBe(2);
});

it('stops at once while NATS is away, without waiting out the timeouts of its requests', async () => {
  const url = new URL(server.url);
  const proxy = await startStandIn({ forwardTo: { host: url.hostname, port: Number(url.port) } });
  const nats = await connectNats(
    `nats://127.0.0.1:${proxy.port}`,
    'orders',
    env.logger,
    server.credentials.orders,
  );
  opened.push(nats);
  const sampler = createBacklogSampler({
    service: 'orders',
    namespace: ns,
    consumers: ['orders-dead-letters'],
    orm,
    nats,
    metrics: createMetrics('orders'),
    logger: env.logger,
  });
  const away = (async () => {
    for await (const status of nats.status()) if (status.type === 'disconnect') return;
  })();
  await proxy.close();
  await away;
  // A sample asks NATS one thing after another (the account's JetStream, then each consumer and
  // the dead letters), and each request waits 5 s for an answer while NATS is away.
  await sampler.start();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const stopping = Date.now();
  await sampler.stop();
  expect(Date.now() - stopping).toBeLessThan(1000);
});
