// Publishes committed outbox rows to JetStream, in order, and deletes them once JetStream has
// acknowledged them. Safe with any number of instances: the relay that holds a session-level
// advisory lock on its own connection is the one that publishes (the others stand by and take
// over when that connection ends, e.g. when its process dies). A crash after publishing and
// before deleting publishes the rows again with the same Nats-Msg-Id, which JetStream drops.
// A pass is one statement on that one connection: delete what the previous pass published and
// read the next batch. Published rows wait for the next pass (the next notification or poll)
// to be deleted, so a quiet relay makes one statement per wake-up, not two.
//
// Order: rows are published in `seq` order among those committed. Two changes of one order (or
// reservation, payment, product) are serialized by that row's lock, so the later one's outbox
// row is written only after the earlier one committed, and is never published before it. Rows
// that commit late are never skipped, because nothing is skipped: what is published is deleted,
// what is not yet visible is still there on the next pass. This is why the relay needs no
// visibility horizon (pg_snapshot_xmin), which spans every database of the server and would hold
// every service's messages back behind any long transaction anywhere.
//
// Rows a consumer's transaction wrote are published by that process right after its commit
// (commit-publisher.ts) and only deleted here; the relay publishes the rest (written by other
// code, or left by a publish that failed or a process that died) and is the safety net.
//
// Outages: with NATS away a pass fails before it deletes anything, and is tried again. With the
// database away the connection is lost, and with it the leadership (the server ends the session
// and its lock): the relay opens a new connection, takes the lock again if no standby has, and
// carries on from the rows still there (deleting first what it had published).
import pg from 'pg';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import type { Logger } from '../logger.ts';
import type { Worker } from '../graphql/subgraph-service.ts';
import type { NatsConnection } from './nats.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';
import type { CommitPublisher } from './commit-publisher.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { qualify } from '../../nats/topology.ts';

const RELAY_LOCK_KEY = 7_263_102;
const BATCH_SIZE = 500;
/**
 * The safety net behind LISTEN/NOTIFY (only a wake-up hint) and the commit publisher (which
 * nudges the relay when a publish fails); also how often a standby tries to lead, and how often
 * rows published right after their commit are deleted. Rarely needed for speed since most rows
 * go out right after their commit, so a pass a second keeps an idle service quiet.
 */
const POLL_MS = 1000;
const RECONNECT_MS = 1000;

export interface OutboxRelayOptions {
  readonly nats: NatsConnection;
  /** This service's database: the relay's own connection (LISTEN, leadership, reads, deletes). */
  readonly databaseUrl: string;
  /** Opening the connection fails after this (default: the pool's default). */
  readonly connectTimeoutMs?: number;
  readonly namespace: string;
  readonly logger: Logger;
  readonly onPublished?: (count: number) => void;
  /**
   * This process's publisher of rows right after their commit: the relay leaves alone what it
   * has in flight and deletes what it has published (as a standby too: those rows are this
   * process's to delete).
   */
  readonly publisher?: CommitPublisher;
}

interface OutboxRow {
  seq: string;
  id: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string> | null;
}

export interface OutboxRelay extends Worker {
  /** One pass: publishes what is committed now, if this relay leads; returns how many rows. */
  relayOnce(): Promise<number>;
  /** Runs a pass now rather than at the next poll. */
  nudge(): void;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { logger } = options;
  const js = jetstream(options.nats);
  let running = false;
  let wake: (() => void) | undefined;
  // A notification that arrives while a batch is being relayed must not wait for the next poll.
  let signalled = false;
  let loop: Promise<void> | undefined;
  let connection: Promise<pg.Client> | undefined;
  /** The connection once open, until it is lost. */
  let current: pg.Client | undefined;
  let leading = false;
  /** Rows this relay has published and not yet deleted. */
  let unconfirmedDelete: string[] = [];

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

  /** The relay's connection, opened (and listening) on first use and again after it is lost. */
  function connect(): Promise<pg.Client> {
    connection ??= (async () => {
      const client = new pg.Client({
        connectionString: options.databaseUrl,
        connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        keepAlive: true,
      });
      client.on('notification', () => {
        signalled = true;
        wake?.();
      });
      // Leadership goes with the connection: the session lock is released by the server. pg
      // reports a connection that ends during a query to the query only, so 'end' counts too.
      const lost = () => {
        if (current !== client) return;
        current = undefined;
        connection = undefined;
        leading = false;
      };
      client.on('error', (err) => {
        if (current === client) logger.warn({ err }, 'outbox relay connection lost');
        lost();
      });
      client.on('end', lost);
      try {
        await client.connect();
        await client.query(`listen ${OUTBOX_CHANNEL}`);
      } catch (err) {
        connection = undefined;
        await client.end().catch(() => undefined);
        throw err;
      }
      current = client;
      return client;
    })();
    return connection;
  }

  async function relayBatch(): Promise<{ published: number; more: boolean }> {
    const client = await connect();
    // Taken together, so that a row is in one list or the other: published here and to be
    // deleted, or still in flight and neither to be sent again nor deleted yet.
    const publishedHere = options.publisher?.takePublished() ?? [];
    const inFlight = options.publisher?.inFlight() ?? [];
    try {
      if (!leading) {
        const { rows } = await client.query<{ held: boolean }>('select pg_try_advisory_lock($1) as held', [
          RELAY_LOCK_KEY,
        ]);
        leading = rows[0]?.held === true;
        if (!leading) {
          if (publishedHere.length > 0) {
            await client.query('delete from outbox where id = any($1::uuid[])', [publishedHere]);
          }
          return { published: 0, more: false };
        }
      }
      return await pass(client, publishedHere, inFlight);
    } catch (err) {
      options.publisher?.returnPublished(publishedHere);
      throw err;
    }
  }

  async function pass(
    client: pg.Client,
    publishedHere: readonly string[],
    inFlight: readonly string[],
  ): Promise<{ published: number; more: boolean }> {
    // Deletes what was published (by the previous pass, or right after its commit) and reads
    // what is next, in one statement. The read does not see the delete (one snapshot), so those
    // rows are excluded by seq and id.
    const { rows } = await client.query<OutboxRow>({
      name: 'outbox-relay-pass',
      text: `with published as (delete from outbox where seq = any($1::bigint[]) or id = any($3::uuid[]))
             select seq, id, subject, payload, headers from outbox
              where seq <> all($1::bigint[]) and id <> all($3::uuid[]) and id <> all($4::uuid[])
              order by seq limit $2`,
      values: [unconfirmedDelete, BATCH_SIZE, publishedHere, inFlight],
    });
    unconfirmedDelete = [];
    if (rows.length === 0) return { published: 0, more: false };
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
    // Deleted by the next pass: if this process dies first, they are published again with the
    // same Nats-Msg-Id and JetStream drops the copies. A full batch means more is waiting.
    unconfirmedDelete = rows.map((r) => r.seq);
    return { published: rows.length, more: rows.length === BATCH_SIZE };
  }

  async function dropConnection(): Promise<void> {
    const client = current;
    current = undefined;
    connection = undefined;
    leading = false;
    await client?.end().catch(() => undefined);
  }

  async function run(): Promise<void> {
    /** When the current run of failures began: logged once at its start and once at its end. */
    let failingSince: number | undefined;
    while (running) {
      try {
        signalled = false;
        const { published, more } = await relayBatch();
        if (failingSince !== undefined) {
          logger.info({ downMs: Date.now() - failingSince }, 'outbox relay resumed');
          failingSince = undefined;
        }
        if (published > 0) options.onPublished?.(published);
        if (more) continue;
        await sleep(POLL_MS);
      } catch (err) {
        // NATS or the database is away: keep the rows, try again shortly (on a new connection
        // if the database was the cause: this one may be dead without having said so).
        if (failingSince === undefined) {
          failingSince = Date.now();
          logger.warn({ err }, 'outbox relay failed; retrying until it succeeds');
        } else logger.debug({ err }, 'outbox relay failed again');
        if (isDatabaseUnavailable(err)) await dropConnection();
        await sleep(RECONNECT_MS);
      }
    }
  }

  return {
    name: 'outbox-relay',
    relayOnce: async () => (await relayBatch()).published,
    nudge() {
      signalled = true;
      wake?.();
    },
    async start() {
      running = true;
      await connect().catch((err: unknown) =>
        logger.warn({ err }, 'outbox relay cannot reach its database yet'),
      );
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await options.publisher?.settled();
      const client = await connection?.catch(() => undefined);
      const publishedHere = options.publisher?.takePublished() ?? [];
      if ((leading && unconfirmedDelete.length > 0) || publishedHere.length > 0) {
        // Not left for the next leader to publish again (JetStream would drop the copies anyway).
        await client
          ?.query('delete from outbox where seq = any($1::bigint[]) or id = any($2::uuid[])', [
            leading ? unconfirmedDelete : [],
            publishedHere,
          ])
          .catch(() => undefined);
        unconfirmedDelete = [];
      }
      connection = undefined;
      current = undefined;
      leading = false;
      // Ending the session releases the leadership lock for a standby.
      await client?.end().catch(() => undefined);
    },
  };
}
