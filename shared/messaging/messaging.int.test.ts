// The outbox relay and the consumer against real PostgreSQL and NATS: order, late commits,
// rollbacks, several relays at once, inbox, retries and dead letters.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { jetstream, jetstreamManager, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { databaseUrl, type MikroORM } from '../db/database.ts';
import { connectNats, type NatsConnection } from './nats.ts';
import { enqueue } from './outbox.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { CommitPublisher } from './commit-publisher.ts';
import { createConsumer, PermanentFailure, type ConsumerOptions } from './consumer.ts';
import { DLQ_HEADERS } from './dead-letters.ts';
import { forgetHandledMessages } from './inbox-janitor.ts';
import { consumerName, ensureConsumer, ensureStreams, qualify, streamName } from './topology.ts';
import type { HandledOutcome } from './settling.ts';
import { openMessagingDatabase } from '../../test/support/messaging-database.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';

const env = testEnvironment();
const ns = env.id;
let orm: MikroORM;
let nats: NatsConnection;
let jsm: JetStreamManager;
const dbName = `${env.id}_messaging`;
/** Statements sent, by the source `sql_queries_total` counts them under. */
const statementsBySource = new Map<string, number>();

const orderId = () => crypto.randomUUID();
const released = (id: string) => ({
  subject: 'inventory.evt.released' as const,
  payload: { v: 1 as const, orderId: id },
});

/** Publishes an inventory.evt.released for the order straight to JetStream (no outbox). */
const publishReleased = (id: string, msgID?: string) =>
  jetstream(nats).publish(
    qualify(ns, 'inventory.evt.released'),
    JSON.stringify(released(id).payload),
    msgID ? { msgID } : undefined,
  );

/** The order ids of the messages in a stream (default INVENTORY), in stream order. */
async function streamedOrderIds(stream: 'INVENTORY' | 'PAYMENTS' = 'INVENTORY'): Promise<string[]> {
  const js = jetstream(nats);
  const info = await jsm.streams.info(streamName(ns, stream));
  const consumer = await js.consumers.get(streamName(ns, stream), { deliver_policy: DeliverPolicy.All });
  const ids: string[] = [];
  if (info.state.messages === 0) return ids;
  const batch = await consumer.fetch({ max_messages: info.state.messages, expires: 2000 });
  for await (const m of batch) {
    ids.push((m.json() as { orderId: string }).orderId);
    if (ids.length === info.state.messages) break;
  }
  return ids;
}

async function purge(): Promise<void> {
  await jsm.streams.purge(streamName(ns, 'INVENTORY'));
  await jsm.streams.purge(streamName(ns, 'PAYMENTS'));
  await orm.em.fork().execute('delete from outbox');
}

beforeAll(async () => {
  orm = await openMessagingDatabase({
    serverUrl: env.resources.databaseUrl,
    databaseName: dbName,
    logger: env.logger,
    onQuery: (source) => statementsBySource.set(source, (statementsBySource.get(source) ?? 0) + 1),
  });
  nats = await connectNats(env.resources.natsUrl, 'messaging-test', env.logger);
  jsm = await jetstreamManager(nats);
  await ensureStreams(jsm, { namespace: ns, replicas: 1 });
});

afterAll(async () => {
  await orm?.close(true);
  await nats?.close();
  await dropTestResources(env.resources);
});

/** A consumer of inventory events on this test's database and namespace. */
const testConsumer = (
  setup: Pick<
    ConsumerOptions,
    | 'handlers'
    | 'prepareBatch'
    | 'onHandled'
    | 'publisher'
    | 'unneeded'
    | 'batchSize'
    | 'batchWaitMs'
    | 'maxDeliveries'
    | 'retriesUntilDone'
  >,
) =>
  createConsumer({
    consumer: 'orders-inventory-events',
    orm,
    nats,
    namespace: ns,
    replicas: 1,
    logger: env.logger,
    ...setup,
  });

const newRelay = (publisher?: CommitPublisher) =>
  createOutboxRelay({
    nats,
    databaseUrl: databaseUrl(env.resources.databaseUrl, dbName),
    namespace: ns,
    replicas: 1,
    logger: env.logger,
    publisher,
  });

describe('outbox relay', () => {
  it('publishes only committed rows, never skips one that commits late, and is not held up by it', async () => {
    await purge();
    const relay = newRelay();
    const [early, late, rolledBack] = [orderId(), orderId(), orderId()];

    // A transaction that takes its row's sequence number first but commits last.
    const slow = new pg.Client({ connectionString: databaseUrl(env.resources.databaseUrl, dbName) });
    await slow.connect();
    try {
      await slow.query('begin');
      await slow.query(
        `insert into outbox (id, subject, payload) values ($1, 'inventory.evt.released', $2)`,
        [crypto.randomUUID(), JSON.stringify({ v: 1, orderId: early })],
      );
      await orm.em.fork().transactional((em) => enqueue(em, [released(late)]));
      await orm.em
        .fork()
        .transactional(async (em) => {
          await enqueue(em, [released(rolledBack)]);
          throw new Error('roll back');
        })
        .catch(() => undefined);

      // What has committed goes out now, whatever is still open elsewhere.
      expect(await relay.relayOnce()).toBe(1);
      expect(await streamedOrderIds()).toEqual([late]);
      await slow.query('commit');
      // The row that committed late is not skipped, although its sequence number is lower.
      expect(await relay.relayOnce()).toBe(1);
      expect(await streamedOrderIds()).toEqual([late, early]);
      expect(await relay.relayOnce()).toBe(0);
    } finally {
      await slow.end();
      await relay.stop();
    }
  });

  it('publishes every row exactly once with two relays, and the standby takes over when the leader stops', async () => {
    await purge();
    const ids = Array.from({ length: 200 }, orderId);
    const write = async (batch: string[]) => {
      for (let i = 0; i < batch.length; i += 10) {
        await orm.em.fork().transactional((em) => enqueue(em, batch.slice(i, i + 10).map(released)));
      }
    };
    await write(ids.slice(0, 100));
    const relays = [newRelay(), newRelay()];
    try {
      const counts = [0, 0];
      const remaining = async () =>
        Number((await orm.em.fork().execute<{ n: string }[]>('select count(*) as n from outbox'))[0]!.n);
      const drain = () =>
        Promise.all(
          relays.map(async (relay, i) => {
            while ((await remaining()) > 0) counts[i]! += await relay.relayOnce();
          }),
        );
      await drain();
      // One of them leads; the other stands by.
      expect([...counts].sort((a, b) => a - b)).toEqual([0, 100]);
      const leader = counts[0] === 100 ? 0 : 1;
      await relays[leader]!.stop();
      await write(ids.slice(100));
      expect(await relays[1 - leader]!.relayOnce()).toBe(100);
      expect(await streamedOrderIds()).toEqual(ids);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });
});

describe('consumer', () => {
  it('handles each message once, retries a failing handler, and dead-letters poison without stalling', async () => {
    await purge();
    const handled: string[] = [];
    const attempts = new Map<string, number>();
    const [flaky, good, permanent] = [orderId(), orderId(), orderId()];
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const consumer = testConsumer({
      handlers: {
        'inventory.evt.released': async (em, { orderId: id }) => {
          const attempt = (attempts.get(id) ?? 0) + 1;
          attempts.set(id, attempt);
          if (id === flaky && attempt === 1) throw new Error('transient');
          if (id === permanent) throw new PermanentFailure('never');
          await em.execute('insert into markers (id) values (?)', [handled.length], 'run');
          handled.push(id);
          if (handled.length === 2) allDone();
        },
      },
    });
    await consumer.start();
    try {
      const js = jetstream(nats);
      // Poison first: it must not hold up the messages behind it.
      await js.publish(
        qualify(ns, 'inventory.evt.released'),
        JSON.stringify({ v: 1, orderId: 'not-a-uuid' }),
      );
      await publishReleased(permanent);
      await publishReleased(flaky, 'flaky-1');
      await publishReleased(good, 'good-1');
      await done;
    } finally {
      await consumer.stop();
    }
    expect(handled.sort()).toEqual([flaky, good].sort());
    expect(attempts.get(flaky)).toBe(2);
    const inbox = await orm.em
      .fork()
      .execute<{ message_id: string }[]>('select message_id from inbox order by message_id');
    expect(inbox.map((r) => r.message_id)).toEqual(['flaky-1', 'good-1']);

    // Both poison messages sit in the dead-letter stream with the reason.
    const letters = await jetstream(nats).consumers.get(streamName(ns, 'DEAD_LETTERS'), {
      deliver_policy: DeliverPolicy.All,
    });
    const errors: string[] = [];
    for (let i = 0; i < 2; i++) {
      const letter = await letters.next({ expires: 5000 });
      expect(letter).not.toBeNull();
      errors.push(letter!.headers!.get(DLQ_HEADERS.error));
    }
    expect(errors.some((e) => e.startsWith('invalid message'))).toBe(true);
    expect(errors).toContain('never');
  });
});

/** The order ids of the messages in the dead-letter stream, in stream order. */
async function deadLetteredOrderIds(): Promise<string[]> {
  const info = await jsm.streams.info(streamName(ns, 'DEAD_LETTERS'));
  if (info.state.messages === 0) return [];
  const letters = await jetstream(nats).consumers.get(streamName(ns, 'DEAD_LETTERS'), {
    deliver_policy: DeliverPolicy.All,
  });
  const ids: string[] = [];
  const batch = await letters.fetch({ max_messages: info.state.messages, expires: 2000 });
  for await (const m of batch) {
    ids.push((m.json() as { orderId: string }).orderId);
    if (ids.length === info.state.messages) break;
  }
  return ids;
}

/** Resolves when `outcome` has been reported for a message of the subject `count` times. */
function outcomes() {
  const seen: HandledOutcome[] = [];
  const waiters: { outcome: HandledOutcome; count: number; resolve: () => void }[] = [];
  return {
    seen,
    onHandled: (_subject: string, outcome: HandledOutcome) => {
      seen.push(outcome);
      for (const w of waiters) {
        if (seen.filter((o) => o === w.outcome).length >= w.count) w.resolve();
      }
    },
    until: (outcome: HandledOutcome, count = 1) =>
      new Promise<void>((resolve) => {
        if (seen.filter((o) => o === outcome).length >= count) resolve();
        else waiters.push({ outcome, count, resolve });
      }),
  };
}

describe('dead letters', () => {
  it('are never skipped: a message whose dead letter cannot be written is delivered again, and no server limit ends its deliveries', async () => {
    await purge();
    const id = orderId();
    let attempts = 0;
    const reported = outcomes();
    const consumer = testConsumer({
      handlers: {
        'inventory.evt.released': async () => {
          attempts += 1;
          throw new PermanentFailure('never');
        },
      },
      onHandled: reported.onHandled,
    });
    // No dead-letter stream: publishing a dead letter fails (as while NATS reconnects).
    await jsm.streams.delete(streamName(ns, 'DEAD_LETTERS'));
    await consumer.start();
    try {
      await publishReleased(id);
      await reported.until('retry');
      await ensureStreams(jsm, { namespace: ns, replicas: 1 });
      await reported.until('dead_letter');
    } finally {
      await consumer.stop();
      await ensureStreams(jsm, { namespace: ns, replicas: 1 });
    }
    expect(attempts).toBe(2);
    expect(await deadLetteredOrderIds()).toEqual([id]);
    const info = await jsm.consumers.info(
      streamName(ns, 'INVENTORY'),
      consumerName(ns, 'orders-inventory-events'),
    );
    expect(info.config.max_deliver).toBe(-1);
  });

  it('wait for failures retriesUntilDone names, past the deliveries that dead-letter any other', async () => {
    await purge();
    const [patient, broken] = [orderId(), orderId()];
    const attempts = new Map<string, number>();
    const reported = outcomes();
    const consumer = testConsumer({
      handlers: {
        'inventory.evt.released': async (_em, { orderId: id }) => {
          const attempt = (attempts.get(id) ?? 0) + 1;
          attempts.set(id, attempt);
          if (id === broken) throw new Error('broken');
          if (attempt <= 3) throw new Error('provider away');
        },
      },
      batchSize: 1,
      maxDeliveries: 2,
      retriesUntilDone: (subject, err) =>
        subject === 'inventory.evt.released' && err instanceof Error && err.message === 'provider away',
      onHandled: reported.onHandled,
    });
    const lettersBefore = (await deadLetteredOrderIds()).length;
    await consumer.start();
    try {
      await publishReleased(patient);
      await publishReleased(broken);
      await Promise.all([reported.until('ok'), reported.until('dead_letter')]);
    } finally {
      await consumer.stop();
    }
    expect([attempts.get(patient), attempts.get(broken)]).toEqual([4, 2]);
    expect((await deadLetteredOrderIds()).slice(lettersBefore)).toEqual([broken]);
  });
});

describe('where a consumer starts', () => {
  it("is fixed when it is made: notifications' order events from then on, its copies from the start", async () => {
    const js = jetstream(nats);
    await js.publish(qualify(ns, `orders.evt.status.${orderId()}`), '{}');
    await js.publish(qualify(ns, 'users.evt.user_changed'), '{}');
    const options = { namespace: ns, replicas: 1 };
    const info = (
      consumer: 'notifications-order-events' | 'notifications-user-events',
      stream: 'ORDERS' | 'USERS',
    ) => jsm.consumers.info(streamName(ns, stream), consumerName(ns, consumer));
    await ensureConsumer(jsm, options, 'notifications-order-events');
    await ensureConsumer(jsm, options, 'notifications-user-events');
    expect((await info('notifications-order-events', 'ORDERS')).num_pending).toBe(0);
    expect((await info('notifications-user-events', 'USERS')).num_pending).toBe(1);
    // Ensured again, as every start does: it keeps where it started.
    await js.publish(qualify(ns, `orders.evt.status.${orderId()}`), '{}');
    await ensureConsumer(jsm, options, 'notifications-order-events');
    const again = await info('notifications-order-events', 'ORDERS');
    expect([again.config.deliver_policy, again.num_pending]).toEqual([DeliverPolicy.New, 1]);
  });
});

describe('consumer batches', () => {
  it('handles what arrived together in one transaction, and a failing message only affects itself', async () => {
    await purge();
    await orm.em.fork().execute('delete from markers');
    const ids: string[] = Array.from({ length: 20 }, () => orderId());
    const poison = ids[7]!;
    const batchSizes: number[] = [];
    const attempts = new Map<string, number>();
    let handledGood = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    // Published before the consumer starts, so they are waiting together when it pulls.
    for (const [n, id] of ids.entries()) await publishReleased(id, `batch-${n}`);
    const consumer = testConsumer({
      prepareBatch: async (_em, payloads) => {
        batchSizes.push(payloads.length);
      },
      handlers: {
        'inventory.evt.released': async (em, { orderId: id }) => {
          attempts.set(id, (attempts.get(id) ?? 0) + 1);
          await em.execute('insert into markers (id) values (?)', [ids.indexOf(id)], 'run');
          if (id === poison) throw new PermanentFailure('never');
        },
      },
      onHandled: (_subject, outcome) => {
        if (outcome === 'ok') handledGood += 1;
        if (handledGood === ids.length - 1) allDone();
      },
    });
    await consumer.start();
    try {
      await done;
    } finally {
      await consumer.stop();
    }
    // A batch formed, failed on the poison, and its messages were then handled one by one.
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    expect(attempts.get(poison)).toBe(2);
    // Nothing of the failed batch was kept: every good message's effect and inbox row once.
    const markers = await orm.em.fork().execute<{ id: number }[]>('select id from markers order by id');
    expect(markers.map((m) => m.id)).toEqual(ids.map((_, n) => n).filter((n) => n !== 7));
    const inbox = await orm.em
      .fork()
      .execute<{ n: string }[]>("select count(*) as n from inbox where message_id like 'batch-%'");
    expect(Number(inbox[0]!.n)).toBe(ids.length - 1);
  });

  /** Runs a consumer that records its batches' sizes until `count` messages are handled. */
  async function batchesOf(
    count: number,
    setup: Pick<ConsumerOptions, 'batchSize' | 'batchWaitMs'>,
    publish: () => Promise<void>,
  ): Promise<number[]> {
    const sizes: number[] = [];
    let handled = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const consumer = testConsumer({
      ...setup,
      // Called for batches of more than one message only; a lone one counts in onHandled.
      prepareBatch: async (_em, payloads) => void sizes.push(payloads.length),
      handlers: { 'inventory.evt.released': async () => undefined },
      onHandled: () => {
        handled += 1;
        if (handled === count) allDone();
      },
    });
    await consumer.start();
    try {
      await publish();
      await done;
    } finally {
      await consumer.stop();
    }
    return [...sizes, ...Array.from({ length: count - sizes.reduce((a, b) => a + b, 0) }, () => 1)];
  }

  it('with a batch wait, gathers messages that arrive one after another into one transaction', async () => {
    await purge();
    const ids = Array.from({ length: 5 }, () => orderId());
    // Published one at a time to a running consumer: without the wait the first goes alone.
    const sizes = await batchesOf(ids.length, { batchWaitMs: 1000 }, async () => {
      for (const id of ids) await publishReleased(id);
    });
    expect(sizes).toEqual([5]);
  });

  it('starts a full batch without waiting for the rest of its batch wait', async () => {
    await purge();
    const ids = Array.from({ length: 3 }, () => orderId());
    // A wait longer than the test's timeout: only a full batch starting at once lets it pass.
    const sizes = await batchesOf(ids.length, { batchSize: 3, batchWaitMs: 600_000 }, async () => {
      for (const id of ids) await publishReleased(id);
    });
    expect(sizes).toEqual([3]);
  });

  it('acknowledges a message already in the inbox and changes nothing, in a batch and alone', async () => {
    await purge();
    await orm.em.fork().execute('delete from markers');
    const em = orm.em.fork();
    // Handled before (say, by a process that died before it acked): already in the inbox.
    await em.execute(
      `insert into inbox (consumer, message_id) values
         ('orders-inventory-events', 'again-0'), ('orders-inventory-events', 'again-5'),
         ('orders-inventory-events', 'again-late')`,
    );
    const ids: string[] = Array.from({ length: 10 }, () => orderId());
    const outcomes = { ok: 0, duplicate: 0 };
    let settled!: () => void;
    let allSettled = new Promise<void>((resolve) => (settled = resolve));
    for (const [n, id] of ids.entries()) await publishReleased(id, `again-${n}`);
    let expected = ids.length;
    const consumer = testConsumer({
      handlers: {
        'inventory.evt.released': async (tx, { orderId: id }) => {
          await tx.execute('insert into markers (id) values (?)', [ids.indexOf(id)], 'run');
        },
      },
      onHandled: (_subject, outcome) => {
        if (outcome === 'ok' || outcome === 'duplicate') outcomes[outcome] += 1;
        if (outcomes.ok + outcomes.duplicate === expected) settled();
      },
    });
    await consumer.start();
    try {
      await allSettled;
      expect(outcomes).toEqual({ ok: 8, duplicate: 2 });
      // Alone: the consumer is idle, so this one is a transaction of its own.
      allSettled = new Promise<void>((resolve) => (settled = resolve));
      expected += 1;
      await publishReleased(orderId(), 'again-late');
      await allSettled;
    } finally {
      await consumer.stop();
    }
    expect(outcomes).toEqual({ ok: 8, duplicate: 3 });
    const markers = await em.execute<{ id: number }[]>('select id from markers order by id');
    expect(markers.map((m) => m.id)).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
  });
});

describe('messages a consumer does not need', () => {
  it('acknowledges them without a transaction or an inbox row, and handles the rest as before', async () => {
    await purge();
    await orm.em.fork().execute('delete from markers');
    const ids: string[] = Array.from({ length: 10 }, () => orderId());
    const unneeded = new Set(ids.filter((_, n) => n % 2 === 1));
    const outcomes = { ok: 0, skipped: 0 };
    const prepared: string[] = [];
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    // Waiting together when the consumer pulls: a batch forms with both kinds in it.
    for (const [n, id] of ids.entries()) await publishReleased(id, `unneeded-${n}`);
    const consumer = testConsumer({
      unneeded: (payload) => unneeded.has((payload as { orderId: string }).orderId),
      prepareBatch: async (_em, payloads) => {
        prepared.push(...payloads.map((p) => (p as { orderId: string }).orderId));
      },
      handlers: {
        'inventory.evt.released': async (em, { orderId: id }) => {
          await em.execute('insert into markers (id) values (?)', [ids.indexOf(id)], 'run');
        },
      },
      onHandled: (_subject, outcome) => {
        if (outcome === 'ok' || outcome === 'skipped') outcomes[outcome] += 1;
        if (outcomes.ok + outcomes.skipped === ids.length) allDone();
      },
    });
    await consumer.start();
    try {
      await done;
    } finally {
      await consumer.stop();
    }
    expect(outcomes).toEqual({ ok: 5, skipped: 5 });
    expect(prepared.filter((id) => unneeded.has(id))).toEqual([]);
    const markers = await orm.em.fork().execute<{ id: number }[]>('select id from markers order by id');
    expect(markers.map((m) => m.id)).toEqual([0, 2, 4, 6, 8]);
    const inbox = await orm.em
      .fork()
      .execute<{ message_id: string }[]>(
        "select message_id from inbox where message_id like 'unneeded-%' order by message_id",
      );
    expect(inbox.map((r) => r.message_id)).toEqual([0, 2, 4, 6, 8].map((n) => `unneeded-${n}`));
    // Acknowledged: nothing comes back to a consumer of the same name.
    await nats.flush();
    const info = await jsm.consumers.info(
      streamName(ns, 'INVENTORY'),
      consumerName(ns, 'orders-inventory-events'),
    );
    expect(info.num_ack_pending + info.num_pending).toBe(0);
  });
});

describe("a consumer's transaction", () => {
  it('is counted as background work, not as requests, BEGIN and COMMIT included', async () => {
    await purge();
    const id = orderId();
    let handled!: () => void;
    const done = new Promise<void>((resolve) => (handled = resolve));
    // Started outside the services' `withQuerySource('background')`: the transaction itself says
    // where its statements come from. (A handler's own statements go through the stores, which
    // name their EntityManager's source; the inbox insert is not counted.)
    const consumer = testConsumer({
      handlers: { 'inventory.evt.released': async () => undefined },
      onHandled: () => handled(),
    });
    await consumer.start();
    const before = new Map(statementsBySource);
    try {
      await publishReleased(id, `source-${id}`);
      await done;
    } finally {
      await consumer.stop();
    }
    const sent = (source: string) => (statementsBySource.get(source) ?? 0) - (before.get(source) ?? 0);
    expect(sent('request')).toBe(0);
    expect(sent('background')).toBe(2);
  });
});

describe('publishing right after commit', () => {
  it("sends a batch's messages once it has committed, nothing of a rolled-back one, and the relay only deletes them", async () => {
    await purge();
    const ids: string[] = Array.from({ length: 10 }, () => orderId());
    const flaky = ids[3]!;
    let failedOnce = false;
    let handled = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    // Waiting together when the consumer pulls: a batch forms, fails on `flaky` and rolls back
    // with the replies it had enqueued; then each message is handled on its own.
    for (const [n, id] of ids.entries()) await publishReleased(id, `after-commit-${n}`);
    const publisher = new CommitPublisher({ nats, namespace: ns, logger: env.logger });
    const consumer = testConsumer({
      publisher,
      handlers: {
        'inventory.evt.released': async (em, { orderId: id }) => {
          await enqueue(em, [{ subject: 'payments.cmd.void', payload: { v: 1, orderId: id } }]);
          if (id === flaky && !failedOnce) {
            failedOnce = true;
            throw new Error('transient');
          }
        },
      },
      onHandled: (_subject, outcome) => {
        if (outcome === 'ok' && ++handled === ids.length) allDone();
      },
    });
    // The relay is not running: what reaches the stream was sent by the publisher.
    const relay = newRelay(publisher);
    await consumer.start();
    try {
      await done;
      await publisher.settled();
      const streamed = await streamedOrderIds('PAYMENTS');
      expect([...streamed].sort()).toEqual([...ids].sort());
      // Rows stay in the outbox until the relay deletes them, which it does without sending them again.
      expect(await relay.relayOnce()).toBe(0);
      const left = await orm.em.fork().execute<{ n: string }[]>('select count(*) as n from outbox');
      expect(Number(left[0]!.n)).toBe(0);
      expect(await streamedOrderIds('PAYMENTS')).toEqual(streamed);
    } finally {
      await consumer.stop();
      await relay.stop();
    }
  });
});

describe('inbox janitor', () => {
  it('forgets message ids older than any redelivery, and only those', async () => {
    const em = orm.em.fork();
    await em.execute('delete from inbox');
    await em.execute(
      `insert into inbox (consumer, message_id, handled_at) values
         ('c', 'old', now() - interval '40 days'), ('c', 'recent', now() - interval '2 days')`,
    );
    expect(await forgetHandledMessages(orm)).toBe(1);
    const left = await em.execute<{ message_id: string }[]>('select message_id from inbox');
    expect(left.map((r) => r.message_id)).toEqual(['recent']);
  });
});
