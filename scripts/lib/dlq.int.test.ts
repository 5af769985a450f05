// `npm run dlq` against real PostgreSQL and NATS: a capture command that its (real) consumer
// cannot handle is dead-lettered; the operator lists it, replays it before the cause is fixed
// (it comes back to the dead-letter stream, under a new sequence), then after (it is handled,
// once, and the stream is empty).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Migration } from '@mikro-orm/migrations';
import { defineEntity, p } from '@mikro-orm/core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openDatabase, type MikroORM } from '../../shared/db/database.ts';
import { connectNats, type NatsConnection } from '../../shared/messaging/nats.ts';
import { MESSAGING_TABLES_SQL } from '../../shared/messaging/outbox.ts';
import { createConsumer, PermanentFailure } from '../../shared/messaging/consumer.ts';
import { ensureStreams, qualify, streamName } from '../../shared/messaging/topology.ts';
import { testEnvironment } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';
import { defaultNodePath } from './processes.ts';
import { REPO_ROOT } from './services.ts';
import { listDeadLetters, replayDeadLetter } from './dlq.ts';

const Captured = defineEntity({
  name: 'Captured',
  tableName: 'captured',
  properties: { orderId: p.uuid().primary() },
});
class Init extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table captured (order_id uuid primary key)');
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
    databaseName: `${env.id}_dlq`,
    entities: [Captured],
    migrations: [{ name: 'Init', class: Init }],
    logger: env.logger,
  });
  nats = await connectNats(env.resources.natsUrl, 'dlq-test', env.logger);
  await ensureStreams(await jetstreamManager(nats), { namespace: ns, replicas: 1 });
});

afterAll(async () => {
  await orm?.close(true);
  await nats?.close();
  await dropTestResources(env.resources);
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `npm run dlq -- <args>` as an operator would (the entry, with this system's NATS). */
async function dlq(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(defaultNodePath(), ['scripts/dlq.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NATS_URL: env.resources.natsUrl, NATS_NAMESPACE: ns },
    timeout: 20_000,
  });
  return stdout;
}

describe('npm run dlq', () => {
  it('lists a dead letter, replays it into the same failure, then, once fixed, into success', async () => {
    // A payments-commands consumer whose capture handler is broken until `fixed`, as after a bad
    // deploy: every capture is refused as permanent and dead-lettered at once.
    let fixed = false;
    const consumer = createConsumer({
      consumer: 'payments-commands',
      handlers: {
        'payments.cmd.capture': async (em, { orderId }) => {
          if (!fixed) throw new PermanentFailure(`capture handler broken for ${orderId}`);
          await em.execute('insert into captured (order_id) values (?)', [orderId], 'run');
        },
      },
      orm,
      nats,
      namespace: ns,
      replicas: 1,
      logger: env.logger,
    });
    await consumer.start();
    try {
      const orderId = crypto.randomUUID();
      await jetstream(nats).publish(qualify(ns, 'payments.cmd.capture'), JSON.stringify({ v: 1, orderId }), {
        msgID: `capture-${orderId}`,
      });
      const [first] = await until(
        () => listDeadLetters(nats, ns),
        (l) => l.length === 1,
        'the dead letter',
      );
      expect(first).toMatchObject({
        subject: 'payments.cmd.capture',
        originalSubject: qualify(ns, 'payments.cmd.capture'),
        consumer: 'payments-commands',
        deliveries: 1,
        originalMessageId: `capture-${orderId}`,
        error: `capture handler broken for ${orderId}`,
        payload: JSON.stringify({ v: 1, orderId }),
      });
      const table = await dlq('list');
      expect(table).toContain('payments.cmd.capture');
      expect(table).toContain(`capture handler broken for ${orderId.slice(0, 8)}`);
      expect(table).toMatch(new RegExp(`^${first!.seq}\\s`, 'm'));

      // Replayed with the cause still there: back in the stream under a new sequence, the old one gone.
      expect(await dlq('replay', String(first!.seq))).toContain(`replayed dead letter ${first!.seq}`);
      const [again] = await until(
        () => listDeadLetters(nats, ns),
        (l) => l.length === 1 && l[0]!.seq !== first!.seq,
        'the second dead letter',
      );
      expect(again).toMatchObject({ subject: 'payments.cmd.capture', deliveries: 1 });
      expect(again!.originalMessageId).toMatch(/^replay:/);

      // Fixed: the replay is handled, once, and nothing is left to replay.
      fixed = true;
      await replayDeadLetter(nats, ns, again!.seq);
      await until(
        () =>
          orm.em
            .fork()
            .execute<{ n: string }[]>('select count(*) as n from captured where order_id = ?', [orderId]),
        (rows) => Number(rows[0]!.n) === 1,
        'the capture',
      );
      expect(await listDeadLetters(nats, ns)).toEqual([]);
      expect(await dlq('list')).toContain('no dead letters');
      // Replaying what is gone is an error the operator sees.
      await expect(dlq('replay', String(again!.seq))).rejects.toMatchObject({ code: 1 });
      const info = await (await jetstreamManager(nats)).streams.info(streamName(ns, 'DEAD_LETTERS'));
      expect(info.state.messages).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});
