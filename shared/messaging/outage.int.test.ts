// A consumer and an outbox relay through an outage of their database (a PostgreSQL server of
// this test's own, stopped and started again): messages that arrive meanwhile are handled once
// it is back on their first delivery (none spent on the outage), and the relay, whose
// connection and leadership died with the server, publishes again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defineEntity, p } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { databaseUrl, openDatabase, type MikroORM } from '../db/database.ts';
import { connectNats, type NatsConnection } from './nats.ts';
import { enqueue, MESSAGING_TABLES_SQL } from './outbox.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { createConsumer } from './consumer.ts';
import { ensureStreams, qualify } from './topology.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';
import { startOwnPostgres, type OwnPostgres } from '../../test/support/own-postgres.ts';

const Marker = defineEntity({
  name: 'Marker',
  tableName: 'markers',
  properties: { id: p.uuid().primary() },
});
class Init extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table markers (id uuid primary key)');
    for (const sql of MESSAGING_TABLES_SQL) this.addSql(sql);
  }
}

/** Longer than a nak'ed message's first retries (100, 200, 400, 800 ms) add up to. */
const OUTAGE_MS = 2500;

const env = testEnvironment();
let postgres: OwnPostgres;
let orm: MikroORM;
let nats: NatsConnection;

beforeAll(async () => {
  postgres = await startOwnPostgres(env.resources.natsUrl);
  orm = await openDatabase({
    serverUrl: postgres.url,
    databaseName: `${env.id}_outage`,
    entities: [Marker],
    migrations: [{ name: 'Init', class: Init }],
    logger: env.logger,
  });
  nats = await connectNats(env.resources.natsUrl, 'outage-test', env.logger);
  await ensureStreams(await jetstreamManager(nats), { namespace: env.id, replicas: 1 });
}, 90_000);

// Generous hooks: starting and stopping a PostgreSQL of its own is slow on a loaded machine
// (a first run in CI, under load, took over 30 s to tear down).
afterAll(async () => {
  // Closing the pool sometimes waits for ever after the outage: a connection that was in use
  // when the server died is not handed back (seen about one run in two). Bounded here so the
  // suite ends; the server is stopped below, which closes that socket. Followed up in the
  // data-layer work on the pipelined client.
  await Promise.race([orm?.close(true), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  await nats?.close();
  if (postgres) await dropTestResources({ ...env.resources, databaseUrl: postgres.url });
  await postgres?.dispose();
}, 90_000);

describe('an outage of the database', () => {
  it('costs the consumer no delivery and the relay resumes', async () => {
    /** Deliveries each handled order id was handled on. */
    const handled = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const handledOnce = (id: string) =>
      new Promise<void>((resolve) => (handled.has(id) ? resolve() : waiters.set(id, resolve)));
    const consumer = createConsumer({
      consumer: 'orders-inventory-events',
      orm,
      nats,
      namespace: env.id,
      replicas: 1,
      logger: env.logger,
      handlers: {
        'inventory.evt.released': async (em, { orderId }, meta) => {
          await em.execute('insert into markers (id) values (?)', [orderId], 'run');
          handled.set(orderId, meta.deliveryCount);
          waiters.get(orderId)?.();
        },
      },
    });
    const relay = createOutboxRelay({
      nats,
      databaseUrl: databaseUrl(postgres.url, `${env.id}_outage`),
      namespace: env.id,
      replicas: 1,
      logger: env.logger,
    });
    const viaOutbox = (orderId: string) =>
      orm.em
        .fork()
        .transactional((em) =>
          enqueue(em, [{ subject: 'inventory.evt.released', payload: { v: 1, orderId } }]),
        );
    const direct = (orderId: string) =>
      jetstream(nats).publish(qualify(env.id, 'inventory.evt.released'), JSON.stringify({ v: 1, orderId }));
    await consumer.start();
    await relay.start();
    try {
      const before = randomUUID();
      await viaOutbox(before);
      await handledOnce(before);

      await postgres.stop();
      const during = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of during) await direct(id);
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await postgres.start();
      await Promise.all(during.map(handledOnce));

      const after = randomUUID();
      await viaOutbox(after);
      await handledOnce(after);

      expect(during.map((id) => handled.get(id))).toEqual([1, 1, 1]);
      expect(handled.size).toBe(5);
    } finally {
      await relay.stop();
      await consumer.stop();
    }
  }, 60_000);
});
