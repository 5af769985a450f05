// The backlog sampler against real PostgreSQL and NATS: a consumer's lag and unacknowledged
// messages, the outbox rows not yet published, and the dead letters kept per consumer.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { defineEntity, p } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openDatabase, type MikroORM } from '../db/database.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { connectNats, type NatsConnection } from './nats.ts';
import { enqueue, MESSAGING_TABLES_SQL } from './outbox.ts';
import { publishDeadLetter } from './dead-letters.ts';
import { createBacklogSampler } from './backlog-sampler.ts';
import { consumerName, ensureConsumer, ensureStreams, qualify, streamName } from '../../nats/topology.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';

/** MikroORM wants an entity; the sampler reads only the outbox. */
const Marker = defineEntity({
  name: 'Marker',
  tableName: 'markers',
  properties: { id: p.integer().primary() },
});
class Init extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table markers (id int primary key)');
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
  }
}

const env = testEnvironment();
const ns = env.id;
let orm: MikroORM;
let nats: NatsConnection;

beforeAll(async () => {
  orm = await openDatabase({
    serverUrl: env.resources.databaseUrl,
    databaseName: `${env.id}_backlog`,
    entities: [Marker],
    migrations: [{ name: 'Init', class: Init }],
    logger: env.logger,
  });
  nats = await connectNats(env.resources.natsUrl, 'backlog-test', env.logger);
  const jsm = await jetstreamManager(nats);
  await ensureStreams(jsm, { namespace: ns, replicas: 1 });
  await ensureConsumer(jsm, { namespace: ns, replicas: 1 }, 'inventory-commands');
});

afterAll(async () => {
  await orm?.close(true);
  await nats?.close();
  await dropTestResources(env.resources);
});

/** The value of a gauge for the given labels (undefined when it has none for them). */
async function gauge(metrics: Metrics, name: string, labels: Record<string, string> = {}) {
  const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

it('samples lag, unacknowledged messages, the outbox backlog and the dead letters', async () => {
  const js = jetstream(nats);
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
  for (const streamSequence of [1, 2]) {
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

  const sample = async (service: string) => {
    const metrics = createMetrics(service);
    const sampler = createBacklogSampler({
      service,
      namespace: ns,
      consumers: ['inventory-commands'],
      orm,
      nats,
      metrics,
      logger: env.logger,
    });
    await sampler.sample();
    return metrics;
  };
  const orders = await sample('orders');
  const consumerLabels = { consumer: 'inventory-commands' };
  expect(await gauge(orders, 'jetstream_consumer_pending_messages', consumerLabels)).toBe(2);
  expect(await gauge(orders, 'jetstream_consumer_ack_pending_messages', consumerLabels)).toBe(1);
  expect(await gauge(orders, 'jetstream_consumer_redelivered_messages', consumerLabels)).toBe(0);
  expect(await gauge(orders, 'outbox_backlog_messages')).toBe(2);
  expect(await gauge(orders, 'outbox_oldest_message_age_seconds')).toBeGreaterThanOrEqual(0);
  // Orders owns the dead-letter stream, so it alone reports what it holds.
  expect(await gauge(orders, 'dead_letters_stored', consumerLabels)).toBe(2);
  const inventory = await sample('inventory');
  expect(await gauge(inventory, 'dead_letters_stored', consumerLabels)).toBeUndefined();
  expect(await gauge(inventory, 'jetstream_consumer_pending_messages', consumerLabels)).toBe(2);
  held!.ack();
});
