// Runs one durable pull consumer: validates each message against its contract, runs its handler
// in a database transaction together with an inbox row (so a redelivered message changes
// nothing), acks on success, naks with a growing delay on failure, and dead-letters what can
// never succeed. Consumers of the same name in several processes compete for messages.
// Messages that arrive while a batch is being handled form the next batch, handled in one
// transaction (settling.ts); a batch that fails is handled again message by message. A consumer
// nobody waits on may also hold a batch open for a while (batchWaitMs) to make it larger.
// A failure because the database cannot be reached is no failure of the message: the consumer
// stops pulling (pull-loop.ts), holds what it has and waits for the database (see waitOut).
// A consumer or stream deleted under it is declared again, and pulling resumes (self-healing.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { provisionPatiently } from './provisioning.ts';
import { backgroundFork, withQuerySource, type MikroORM } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { Logger } from '../logger.ts';
import type { Worker } from '../service/subgraph-service.ts';
import type { NatsConnection } from './nats.ts';
import type { BatchPreparer, Handlers, Unneeded } from './delivery.ts';
import {
  ACK_WAIT_MS,
  CONSUMERS,
  consumerName,
  ensureConsumer,
  streamName,
  type ConsumerName,
} from './topology.ts';
import type { CommitPublisher } from './commit-publisher.ts';
import { MessagesInHand } from './in-hand.ts';
import { createOutageWaiter } from './outage-waiter.ts';
import { handleBatch, type HandledOutcome, type SettlingOptions } from './settling.ts';
import { pullAndHandle, type PullState } from './pull-loop.ts';
import { STALLED_AFTER_MS, stalledCheck } from './self-healing.ts';
import { ConsumerHealer } from './consumer-healing.ts';

export {
  PermanentFailure,
  type BatchPreparer,
  type HandlerMap,
  type MessageHandler,
  type MessageMeta,
  type RawHandler,
  type RawMessage,
  type Unneeded,
} from './delivery.ts';

/** `maxDeliveries` and `retriesUntilDone`: when a failing message is dead-lettered (settling.ts). */
export interface ConsumerOptions extends Pick<SettlingOptions, 'maxDeliveries' | 'retriesUntilDone'> {
  readonly consumer: ConsumerName;
  /** Contract handlers by subject; or `raw` for every message whatever its subject. */
  readonly handlers: Handlers;
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly replicas: number;
  readonly logger: Logger;
  /** At most this many messages are handled together, in one transaction. */
  readonly batchSize?: number;
  /**
   * How long a batch's oldest message waits for others to share its transaction (default 0:
   * only those that came in with it). For consumers nobody waits on: fewer, larger
   * transactions for some latency.
   */
  readonly batchWaitMs?: number;
  /**
   * Called in a batch's transaction before its handlers, with the payloads of its messages:
   * e.g. to lock every row the batch will change in one statement and in a fixed order.
   */
  readonly prepareBatch?: BatchPreparer;
  /**
   * Messages of the consumer's subjects that its handlers would do nothing with (e.g. statuses
   * it does not care for): acknowledged without a transaction. Default: every message is handled.
   */
  readonly unneeded?: Unneeded;
  readonly onHandled?: (subject: string, outcome: HandledOutcome) => void;
  /**
   * Publishes what a batch's handlers enqueued as soon as its transaction has committed, instead
   * of waking the outbox relay with a NOTIFY to read it back. Without it, the relay does.
   */
  readonly publisher?: CommitPublisher;
  /** /health/ready fails once the consumer has not been able to pull for this long (STALLED_AFTER_MS). */
  readonly stalledAfterMs?: number;
}

/** The consumer is stopping while its batch waits for the database: the batch is left as it is. */
class Stopping extends Error {
  override name = 'Stopping';
}

/**
 * Retries in a row of a handler that failed as if the database were away while it answered
 * every probe: e.g. a connection cut once, or a pool that was busy. Past this the failure is an
 * ordinary one (retried later, counted).
 */
const QUICK_RETRIES = 3;

/**
 * How long a batch may run before its messages are let go to other instances (in-hand.ts),
 * unless it is waiting out an outage: far longer than any batch takes, even one calling a slow
 * payment provider for each of its commands.
 */
const MAX_HOLD_MS = 4 * ACK_WAIT_MS;

/** Pulling again after a failure: the first delay, doubled each time up to the last. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

export function createConsumer(options: ConsumerOptions): Worker {
  const { orm, logger, namespace } = options;
  const name = consumerName(namespace, options.consumer);
  const stream = streamName(namespace, CONSUMERS[options.consumer].stream);
  const js = jetstream(options.nats);
  const batchSize = options.batchSize ?? 32;
  const log = logger.child({ consumer: options.consumer });
  let loop: Promise<void> | undefined;
  const state: PullState = {
    running: false,
    pause: () => undefined,
    inFlight: new Set<Promise<void>>(),
    inHand: new MessagesInHand({
      intervalMs: ACK_WAIT_MS / 3,
      maxHoldMs: MAX_HOLD_MS,
      waitingOut: () => waitingOut > 0,
    }),
  };
  /** Batches now waiting for the database (their messages are kept however long that takes). */
  let waitingOut = 0;
  const stopped = new AbortController();
  const waitForDatabase = createOutageWaiter({
    probe: () => withQuerySource('background', () => backgroundFork(orm).getConnection().execute('select 1')),
    logger: log,
    dependency: 'database',
    signal: stopped.signal,
  });

  /**
   * Why not nak: JetStream counts every delivery toward max deliveries, a nak'ed message comes
   * back as one, and there is no nak that does not count. An outage longer than the retries
   * would dead-letter good messages. So a failure because the database cannot be reached is
   * waited out here, on the same delivery: pulling stops, the messages in hand are held (their
   * ack timers reset with `working()`), the database is probed with back-off, and the handler
   * runs again once it answers. Returns whether to run the handler again; throws Stopping when
   * the consumer is stopped meanwhile (the messages are then redelivered after the ack wait).
   */
  async function waitOut(err: unknown, retries: number): Promise<boolean> {
    if (!isDatabaseUnavailable(err)) return false;
    state.pause();
    waitingOut += 1;
    const { available, wasDown } = await waitForDatabase().finally(() => (waitingOut -= 1));
    if (!available) throw new Stopping();
    return wasDown || retries < QUICK_RETRIES;
  }

  const settling = { ...options, js, log, waitOut };
  const topology = { namespace, replicas: options.replicas };
  const healer = new ConsumerHealer({ ...topology, nats: options.nats, consumer: options.consumer, log });
  const run = async (): Promise<void> => {
    const consumer = await js.consumers.get(stream, name);
    healer.remember(await consumer.info(true));
    return pullAndHandle(consumer, state, {
      batchSize,
      batchWaitMs: options.batchWaitMs,
      log,
      handleBatch: (batch) => handleBatch(settling, batch),
      isQuiet: (err) => err instanceof Stopping,
    });
  };

  return {
    name: `consumer:${options.consumer}`,
    readiness: stalledCheck(
      `consumer:${options.consumer}`,
      'pulling',
      () => state.interruptedSince,
      options.stalledAfterMs ?? STALLED_AFTER_MS,
    ),
    async start() {
      const jsm = await jetstreamManager(options.nats);
      await provisionPatiently(
        `creating consumer ${options.consumer}`,
        () => ensureConsumer(jsm, topology, options.consumer),
        log,
      );
      state.running = true;
      const declareAgain = (err: unknown) => healer.declareAgain(jsm, err);
      loop = pullUntilStopped(state, { run, declareAgain, log, signal: stopped.signal });
      healer.start(jsm, () => state.interruptedSince === undefined);
    },
    async stop() {
      // Stop pulling, finish what is in hand (its acks still reach NATS), then return.
      state.running = false;
      healer.stop();
      stopped.abort();
      state.messages?.stop();
      await loop;
      await Promise.allSettled([...state.inFlight]);
      state.inHand.clear();
    },
  };
}

/**
 * Pulls until the consumer stops. A failure (NATS away, the consumer or its stream gone) is
 * logged once, when it begins; pulling is tried again after a growing delay, or straight away once
 * what was gone has been declared again (consumer-healing.ts).
 */
async function pullUntilStopped(
  state: PullState,
  loop: {
    readonly run: () => Promise<void>;
    readonly declareAgain: (err: unknown) => Promise<boolean>;
    readonly log: Logger;
    readonly signal: AbortSignal;
  },
): Promise<void> {
  const { log } = loop;
  let failures = 0;
  while (state.running) {
    try {
      await loop.run();
    } catch (err) {
      if (state.interruptedSince === undefined) {
        state.interruptedSince = Date.now();
        failures = 0;
        log.warn({ err }, 'consumer interrupted; pulling again once it can');
      } else log.debug({ err }, 'consumer still interrupted');
      if (await loop.declareAgain(err)) continue;
      const delayMs = Math.min(RETRY_FIRST_MS * 2 ** failures++, RETRY_MAX_MS);
      await sleep(delayMs, undefined, { signal: loop.signal }).catch(() => undefined);
    }
  }
}
