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
// carries on from the rows still there (deleting first what it had published). A publish that
// finds no stream (deleted, or NATS's store wiped) declares the streams again (self-healing.ts)
// and the rows, still in the outbox, go out with the next pass.
import type { Logger } from '../logger.ts';
import type { Worker } from '../service/subgraph-service.ts';
import type { NatsConnection } from './nats.ts';
import type { CommitPublisher } from './commit-publisher.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { createRelayConnection } from './outbox-relay-connection.ts';
import { relayBatch, type RelayPassState } from './outbox-relay-pass.ts';
import { StreamPublishError, streamPublisherFor } from './stream-publisher.ts';
import { declareStreamsAgain, STALLED_AFTER_MS, stalledCheck } from './self-healing.ts';

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
  /** Replicas of the streams it declares again should they vanish (topology.ts). */
  readonly replicas: number;
  /** The service it runs in, which updates only its own streams when it declares them (topology.ts). */
  readonly service?: string;
  readonly logger: Logger;
  readonly onPublished?: (count: number) => void;
  /**
   * This process's publisher of rows right after their commit: the relay leaves alone what it
   * has in flight and deletes what it has published (as a standby too: those rows are this
   * process's to delete).
   */
  readonly publisher?: CommitPublisher;
  /** /health/ready fails once publishing has failed for this long (STALLED_AFTER_MS). */
  readonly stalledAfterMs?: number;
}

export interface OutboxRelay extends Worker {
  /** One pass: publishes what is committed now, if this relay leads; returns how many rows. */
  relayOnce(): Promise<number>;
  /** Runs a pass now rather than at the next poll. */
  nudge(): void;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { logger } = options;
  let running = false;
  const wakeUp = createWakeUp(() => running);
  let loop: Promise<void> | undefined;
  const connection = createRelayConnection({ ...options, onNotification: () => wakeUp.signal() });
  const state: RelayPassState = {
    connection,
    streams: streamPublisherFor(options.nats),
    namespace: options.namespace,
    publisher: options.publisher,
    unconfirmedDelete: [],
  };
  /** When publishing began to fail, until a pass succeeds again (for /health/ready). */
  let publishingFailedSince: number | undefined;

  async function run(): Promise<void> {
    /** When the current run of failures began: logged once at its start and once at its end. */
    let failingSince: number | undefined;
    while (running) {
      try {
        wakeUp.clear();
        const { published, more } = await relayBatch(state);
        if (failingSince !== undefined) {
          logger.info({ downMs: Date.now() - failingSince }, 'outbox relay resumed');
          failingSince = undefined;
        }
        publishingFailedSince = undefined;
        if (published > 0) options.onPublished?.(published);
        if (more) continue;
        await wakeUp.sleep(POLL_MS);
      } catch (err) {
        // NATS or the database is away, or a stream is gone: keep the rows, try again shortly
        // (on a new connection if the database was the cause: this one may be dead without
        // having said so; after declaring the streams again if one may be missing).
        if (failingSince === undefined) {
          failingSince = Date.now();
          logger.warn({ err }, 'outbox relay failed; retrying until it succeeds');
        } else logger.debug({ err }, 'outbox relay failed again');
        if (isDatabaseUnavailable(err)) await connection.drop();
        if (err instanceof StreamPublishError) {
          publishingFailedSince ??= Date.now();
          if (err.streamMayBeMissing) await declareStreams(options);
        }
        await wakeUp.sleep(RECONNECT_MS);
      }
    }
  }

  return {
    name: 'outbox-relay',
    readiness: stalledCheck(
      'outbox-relay',
      'publishing',
      () => publishingFailedSince,
      options.stalledAfterMs ?? STALLED_AFTER_MS,
    ),
    relayOnce: async () => (await relayBatch(state)).published,
    nudge: () => wakeUp.signal(),
    async start() {
      running = true;
      await connection
        .open()
        .catch((err: unknown) => logger.warn({ err }, 'outbox relay cannot reach its database yet'));
      loop = run();
    },
    async stop() {
      running = false;
      wakeUp.interrupt();
      await loop;
      await options.publisher?.settled();
      const client = await connection.opening?.catch(() => undefined);
      const publishedHere = options.publisher?.takePublished() ?? [];
      if ((connection.leading && state.unconfirmedDelete.length > 0) || publishedHere.length > 0) {
        // Not left for the next leader to publish again (JetStream would drop the copies anyway).
        await client
          ?.query('delete from outbox where seq = any($1::bigint[]) or id = any($2::uuid[])', [
            connection.leading ? state.unconfirmedDelete : [],
            publishedHere,
          ])
          .catch(() => undefined);
        state.unconfirmedDelete = [];
      }
      connection.release();
      // Ending the session releases the leadership lock for a standby.
      await client?.end().catch(() => undefined);
    },
  };
}

/** Declares the streams again after a publish that may have found none; no harm if it had. */
async function declareStreams(options: OutboxRelayOptions): Promise<void> {
  const { namespace, replicas, service, logger } = options;
  try {
    const created = await declareStreamsAgain(options.nats, { namespace, replicas, service });
    if (created.length > 0) logger.info({ streams: created }, 'outbox relay declared missing streams again');
  } catch (err) {
    logger.debug({ err }, 'declaring the streams again failed; trying again');
  }
}

/**
 * The relay's wait between passes, cut short by a notification or a nudge. A notification that
 * arrives while a batch is being relayed must not wait for the next poll: it skips the next sleep.
 */
function createWakeUp(running: () => boolean) {
  let wake: (() => void) | undefined;
  let signalled = false;
  return {
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        if (signalled || !running()) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    /** Something is waiting to be relayed: the current or next sleep ends at once. */
    signal() {
      signalled = true;
      wake?.();
    },
    /** Ends the current sleep (the relay is stopping). */
    interrupt: () => wake?.(),
    /** A pass begins: what was signalled so far is in it. */
    clear() {
      signalled = false;
    },
  };
}
