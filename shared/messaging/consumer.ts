// Runs one durable pull consumer: validates each message against its contract, runs its handler
// in a database transaction together with an inbox row (so a redelivered message changes
// nothing), acks on success, naks with a growing delay on failure, and dead-letters what can
// never succeed. Consumers of the same name in several processes compete for messages.
// Messages that arrive while a batch is being handled form the next batch, handled in one
// transaction (see handleBatch); a batch that fails is handled again message by message.
// A failure because the database cannot be reached is no failure of the message: the consumer
// stops pulling, holds what it has and waits for the database (see waitOut).
import { jetstream, jetstreamManager, type JsMsg, type ConsumerMessages } from '@nats-io/jetstream';
import { provisionPatiently } from './provisioning.ts';
import { context } from '@opentelemetry/api';
import { backgroundFork, withQuerySource, type MikroORM } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { queryUnread } from '../db/statements.ts';
import type { Logger } from '../logger.ts';
import type { Worker } from '../graphql/subgraph-service.ts';
import type { NatsConnection } from './nats.ts';
import {
  PermanentFailure,
  receive,
  type BatchPreparer,
  type BoundHandler,
  type Delivery,
  type Handlers,
} from './delivery.ts';
import {
  ACK_WAIT_MS,
  CONSUMERS,
  MAX_DELIVER,
  consumerName,
  ensureConsumer,
  streamName,
  type ConsumerName,
} from '../../nats/topology.ts';
import { deadLetterOf, publishDeadLetter } from './dead-letters.ts';
import type { CommitPublisher } from './commit-publisher.ts';
import { transactionalPublishing } from './publish-after-commit.ts';
import { MessagesInHand } from './in-hand.ts';
import { createOutageWaiter } from './outage-waiter.ts';
import { failSpan } from '../observability/tracing.ts';

export {
  PermanentFailure,
  type BatchPreparer,
  type HandlerMap,
  type MessageHandler,
  type MessageMeta,
  type RawHandler,
  type RawMessage,
} from './delivery.ts';

export interface ConsumerOptions {
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
   * Called in a batch's transaction before its handlers, with the payloads of its messages:
   * e.g. to lock every row the batch will change in one statement and in a fixed order.
   */
  readonly prepareBatch?: BatchPreparer;
  readonly onHandled?: (subject: string, outcome: 'ok' | 'duplicate' | 'retry' | 'dead_letter') => void;
  /**
   * Publishes what a batch's handlers enqueued as soon as its transaction has committed, instead
   * of waking the outbox relay with a NOTIFY to read it back. Without it, the relay does.
   */
  readonly publisher?: CommitPublisher;
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

/** How long one pull request waits for messages before the next is made. */
const FETCH_EXPIRES_MS = 5000;

/** Delay before the next delivery: 100 ms, 200 ms, 400 ms … capped at 5 s. */
export function retryDelayMs(deliveryCount: number): number {
  return Math.min(5000, 100 * 2 ** Math.max(0, deliveryCount - 1));
}

export function createConsumer(options: ConsumerOptions): Worker {
  const { orm, logger, namespace } = options;
  const name = consumerName(namespace, options.consumer);
  const stream = streamName(namespace, CONSUMERS[options.consumer].stream);
  const js = jetstream(options.nats);
  const batchSize = options.batchSize ?? 32;
  const log = logger.child({ consumer: options.consumer });
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let running = false;
  const inFlight = new Set<Promise<void>>();
  const inHand = new MessagesInHand(ACK_WAIT_MS / 3);
  /** When pulling began to fail (NATS away), until a pull request goes through again. */
  let interruptedSince: number | undefined;
  const stopped = new AbortController();
  /** Fetches no more until the batch in hand is through (set by run()). */
  let pause = (): void => undefined;
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
    pause();
    const { available, wasDown } = await waitForDatabase();
    if (!available) throw new Stopping();
    return wasDown || retries < QUICK_RETRIES;
  }

  async function deadLetter(msg: JsMsg, error: string): Promise<void> {
    log.error({ subject: msg.subject, seq: msg.seq, error }, 'message dead-lettered');
    await publishDeadLetter(js, namespace, deadLetterOf(msg, options.consumer, error));
    msg.term(error.slice(0, 200));
    options.onHandled?.(msg.subject, 'dead_letter');
  }

  /**
   * Runs the deliveries' handlers one after another in one transaction, each in its own span's
   * context (so what it enqueues carries its trace on), with one inbox insert and one outbox
   * insert for all of them. Returns the deliveries handled; a message handled before (already
   * in the inbox) leaves a single delivery unhandled, and fails a batch (see below).
   */
  async function transact(deliveries: readonly Runnable[]): Promise<Set<Delivery>> {
    // Twice in one batch (a redelivery overtook the ack): only the first one counts.
    const seen = new Set<string>();
    const due = deliveries.filter((d) => !seen.has(d.meta.messageId) && seen.add(d.meta.messageId));
    try {
      await transactionalPublishing(backgroundFork(orm), options.publisher, async (em) => {
        // Nobody reads this insert's result, so it travels with BEGIN and the handlers' first
        // statement. A message handled before fails it on the inbox's key, which ends the
        // transaction with nothing done (a concurrent twin's insert waits for our outcome).
        await queryUnread(em, 'insert into inbox (consumer, message_id) select ?, unnest(?::text[])', [
          options.consumer,
          [...seen],
        ]);
        // A single message locks what it needs itself; preparing would only add statements.
        if (due.length > 1) {
          await options.prepareBatch?.(
            em,
            due.map((d) => d.payload),
          );
        }
        for (const d of due) await context.with(d.context, () => d.run(em, d.meta));
      });
    } catch (err) {
      // Handled before: one message is a duplicate; a batch is handled one by one by the caller.
      if (due.length === 1 && isInboxConflict(err)) return new Set<Delivery>();
      throw err;
    }
    return new Set<Delivery>(due);
  }

  /** The inbox already holds the message: a unique violation on its key (raw or via MikroORM). */
  const isInboxConflict = (err: unknown): boolean => {
    const { code, constraint } = (err ?? {}) as { code?: unknown; constraint?: unknown };
    return code === '23505' && constraint === 'inbox_pkey';
  };

  type Runnable = Delivery & { readonly run: BoundHandler };
  const isRunnable = (d: Delivery): d is Runnable => typeof d.run !== 'string';

  function finish(d: Delivery, outcome: 'ok' | 'duplicate'): void {
    d.msg.ack();
    options.onHandled?.(d.msg.subject, outcome);
  }

  /** One message in a transaction of its own: acked, retried later with backoff, or dead-lettered. */
  async function settle(d: Delivery): Promise<void> {
    const { msg, span } = d;
    try {
      if (!isRunnable(d)) {
        failSpan(span, d.run);
        return await deadLetter(msg, d.run as string);
      }
      for (let retries = 0; ; retries++) {
        try {
          const handled = await transact([d]);
          return finish(d, handled.has(d) ? 'ok' : 'duplicate');
        } catch (err) {
          if (await waitOut(err, retries)) continue;
          return await fail(d, err);
        }
      }
    } finally {
      span.end();
    }
  }

  /** A handler failed: retried later with backoff, or dead-lettered. */
  async function fail(d: Runnable, err: unknown): Promise<void> {
    const { msg, span } = d;
    failSpan(span, err);
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof PermanentFailure || msg.info.deliveryCount >= MAX_DELIVER) {
      return await deadLetter(msg, reason);
    }
    log.warn(
      {
        err,
        subject: d.meta.subject,
        deliveries: msg.info.deliveryCount,
        traceId: span.spanContext().traceId,
      },
      'handler failed; will retry',
    );
    msg.nak(retryDelayMs(msg.info.deliveryCount));
    options.onHandled?.(msg.subject, 'retry');
  }

  /**
   * Handles what arrived together in one transaction: under load this saves a BEGIN, a COMMIT,
   * an inbox and an outbox statement per message, which is most of a message's cost. If any
   * handler fails, nothing of the batch is kept and each message is handled on its own, so one
   * bad message still only affects itself.
   */
  async function handleBatch(messages: readonly JsMsg[]): Promise<void> {
    const deliveries = messages.map((msg) => receive(msg, namespace, options.consumer, options.handlers));
    const runnable = deliveries.filter(isRunnable);
    try {
      for (let retries = 0; runnable.length > 1; retries++) {
        try {
          const handled = await transact(runnable);
          for (const d of runnable) {
            finish(d, handled.has(d) ? 'ok' : 'duplicate');
            d.span.end();
          }
          for (const d of deliveries) if (!isRunnable(d)) await settle(d);
          return;
        } catch (err) {
          if (await waitOut(err, retries)) continue;
          log.debug({ err, size: runnable.length }, 'batch failed; handling its messages one by one');
          break;
        }
      }
    } catch (err) {
      for (const d of deliveries) d.span.end();
      throw err;
    }
    for (const d of deliveries) await settle(d);
  }

  // Pulled with fetch (one bounded pull request at a time) rather than consume(): consume()
  // keeps pulling as messages arrive whether or not they are taken, and stopping it drops what
  // is on its way, which comes back later as another delivery. A fetch hands over everything it
  // pulled, and pausing is simply not fetching again until the batch in hand is through.
  async function run(): Promise<void> {
    const consumer = await js.consumers.get(stream, name);
    let paused = false;
    pause = () => void (paused = true);
    const waiting: JsMsg[] = [];
    let busy: Promise<void> | undefined;
    let scheduled = false;
    // One batch at a time: what arrives meanwhile forms the next batch. At low load a batch is
    // a single message; under load batches grow and each message costs less. A batch starts on
    // the next turn of the event loop rather than at once, so that the messages that came in
    // the same read from NATS (e.g. two orders' replies) share its transaction.
    const pump = (): void => {
      if (busy || scheduled || waiting.length === 0) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        startBatch();
      });
    };
    const startBatch = (): void => {
      if (busy || waiting.length === 0) return;
      const batch = waiting.splice(0, batchSize);
      busy = handleBatch(batch)
        .catch((err: unknown) => {
          // Stopping meanwhile, or publishing a dead letter failed (NATS away): leave the rest
          // to be redelivered.
          if (!(err instanceof Stopping)) log.error({ err }, 'messages left unacknowledged');
        })
        .finally(() => {
          inHand.delete(batch);
          inFlight.delete(busy!);
          busy = undefined;
          pump();
        });
      inFlight.add(busy);
    };
    try {
      while (running) {
        if (paused) {
          // The database is away: nothing more is pulled until what is in hand is through.
          while (busy || scheduled) await (busy ?? new Promise((resolve) => setImmediate(resolve)));
          paused = false;
          continue;
        }
        const pulled = await consumer.fetch({ max_messages: batchSize * 2, expires: FETCH_EXPIRES_MS });
        messages = pulled;
        if (interruptedSince !== undefined) {
          log.info({ downMs: Date.now() - interruptedSince }, 'consumer pulling again');
          interruptedSince = undefined;
        }
        for await (const msg of pulled) {
          inHand.add(msg);
          waiting.push(msg);
          pump();
          // Once paused, the rest of this pull is taken in hand at once (and held).
          if (waiting.length >= batchSize && busy && !paused) await busy;
        }
      }
    } finally {
      // Also when pulling failed (NATS away): what is in hand is handled, its acks sent later.
      while (busy || scheduled) await (busy ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  return {
    name: `consumer:${options.consumer}`,
    async start() {
      const jsm = await jetstreamManager(options.nats);
      await provisionPatiently(
        `creating consumer ${options.consumer}`,
        () => ensureConsumer(jsm, { namespace, replicas: options.replicas }, options.consumer),
        log,
      );
      running = true;
      loop = (async () => {
        while (running) {
          try {
            await run();
          } catch (err) {
            // e.g. NATS is restarting: pull again once it is back. Logged once per outage.
            if (interruptedSince === undefined) {
              interruptedSince = Date.now();
              log.warn({ err }, 'consumer interrupted; pulling again until NATS answers');
            } else log.debug({ err }, 'consumer still interrupted');
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        }
      })();
    },
    async stop() {
      // Stop pulling, finish what is in hand (its acks still reach NATS), then return.
      running = false;
      stopped.abort();
      messages?.stop();
      await loop;
      await Promise.allSettled([...inFlight]);
      inHand.clear();
    },
  };
}
