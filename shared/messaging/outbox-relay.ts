// Publishes committed outbox rows to JetStream, in order, and deletes them once JetStream has
// acknowledged them. Safe with any number of instances: a batch is claimed under a transaction-
// scoped advisory lock, so one relay at a time publishes, and the rows are deleted in the same
// transaction that published them. A crash after publish and before commit publishes the rows
// again with the same Nats-Msg-Id, which JetStream drops.
//
// Order: rows are published in `seq` order among those committed. Two changes of one order (or
// reservation, payment, product) are serialized by that row's lock, so the later one's outbox
// row is written only after the earlier one committed, and is never published before it. Rows
// that commit late are never skipped, because nothing is skipped: what is published is deleted,
// what is not yet visible is still there on the next pass. This is why the relay needs no
// visibility horizon (pg_snapshot_xmin), which spans every database of the server and would hold
// every service's messages back behind any long transaction anywhere.
import pg from 'pg';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { backgroundFork, type MikroORM } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Worker } from '../graphql/subgraph-service.ts';
import type { NatsConnection } from './nats.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';
import { qualify } from '../../nats/topology.ts';

const RELAY_LOCK_KEY = 7_263_102;
const BATCH_SIZE = 500;
/** The safety net behind LISTEN/NOTIFY, which is only a wake-up hint. */
const POLL_MS = 250;

export interface OutboxRelayOptions {
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  /** This service's database, for the LISTEN connection. */
  readonly databaseUrl: string;
  readonly namespace: string;
  readonly logger: Logger;
  readonly onPublished?: (count: number) => void;
}

interface OutboxRow {
  seq: string;
  id: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string>;
}

export interface OutboxRelay extends Worker {
  /** One pass: publishes what is visible now; returns how many rows it published. */
  relayOnce(): Promise<number>;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { orm, logger } = options;
  const js = jetstream(options.nats);
  let running = false;
  let wake: (() => void) | undefined;
  // A notification that arrives while a batch is being relayed must not wait for the next poll.
  let signalled = false;
  let loop: Promise<void> | undefined;
  let listener: pg.Client | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signalled || !running) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on('notification', () => {
      signalled = true;
      wake?.();
    });
    // A lost LISTEN connection only costs latency (polling goes on); reconnect in the background.
    client.on('error', (err) => {
      logger.warn({ err }, 'outbox LISTEN connection lost');
      listener = undefined;
      if (running) setTimeout(() => void listen().catch(() => undefined), 1000);
    });
    await client.connect();
    await client.query(`listen ${OUTBOX_CHANNEL}`);
    listener = client;
  }

  /** Publishes one batch; returns how many rows it published and whether more are waiting. */
  async function relayBatch(): Promise<{ published: number; more: boolean }> {
    const em = backgroundFork(orm);
    return em.transactional(async (tx) => {
      // The lock and the batch in one round trip; no rows when another relay holds the lock.
      const rows = await tx.execute<OutboxRow[]>(
        `with lock as (select pg_try_advisory_xact_lock(?) as held)
         select o.seq, o.id, o.subject, o.payload, o.headers
           from lock join lateral (select * from outbox where lock.held order by seq limit ?) o on true`,
        [RELAY_LOCK_KEY, BATCH_SIZE],
      );
      if (rows.length > 0) {
        // Sent in order on one connection, so the stream stores them in order.
        await Promise.all(
          rows.map((row) => {
            const h = natsHeaders();
            for (const [key, value] of Object.entries(row.headers ?? {})) h.set(key, value);
            return js.publish(qualify(options.namespace, row.subject), JSON.stringify(row.payload), {
              msgID: row.id,
              headers: h,
              timeout: 5000,
            });
          }),
        );
        await tx.execute(
          "delete from outbox where seq = any(string_to_array(?, ',')::bigint[])",
          [rows.map((r) => r.seq).join(',')],
          'run',
        );
      }
      return { published: rows.length, more: rows.length === BATCH_SIZE };
    });
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        signalled = false;
        const { published, more } = await relayBatch();
        if (published > 0) options.onPublished?.(published);
        if (more) continue;
        await sleep(POLL_MS);
      } catch (err) {
        // NATS or the database is away: keep the rows, try again shortly.
        logger.warn({ err }, 'outbox relay failed; retrying');
        await sleep(1000);
      }
    }
  }

  return {
    name: 'outbox-relay',
    relayOnce: async () => (await relayBatch()).published,
    async start() {
      running = true;
      await listen().catch((err: unknown) => logger.warn({ err }, 'outbox LISTEN unavailable; polling only'));
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await listener?.end().catch(() => undefined);
    },
  };
}
