// Runs one durable pull consumer: validates each message against its contract, runs its handler
// in one database transaction together with an inbox row (so a redelivered message changes
// nothing), acks on success, naks with a growing delay on failure, and dead-letters what can
// never succeed. Consumers of the same name in several processes compete for messages.
import { jetstream, jetstreamManager, type JsMsg, type ConsumerMessages } from '@nats-io/jetstream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import { backgroundFork, type MikroORM } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Worker } from '../graphql/subgraph-service.ts';
import type { NatsConnection } from './nats.ts';
import { contractSubjectOf, validateMessage, type PayloadOf, type Subject } from '../contracts/index.ts';
import {
  CONSUMERS,
  MAX_DELIVER,
  consumerName,
  ensureConsumer,
  streamName,
  unqualify,
  type ConsumerName,
} from '../../nats/topology.ts';
import { deadLetterOf, publishDeadLetter } from './dead-letters.ts';
import { contextFrom, failSpan, tracer } from '../observability/tracing.ts';

export interface MessageMeta {
  readonly subject: string;
  readonly messageId: string;
  readonly deliveryCount: number;
}

export type MessageHandler<S extends Subject> = (
  em: EntityManager,
  payload: PayloadOf<S>,
  meta: MessageMeta,
) => Promise<unknown>;
export type HandlerMap = { readonly [S in Subject]?: MessageHandler<S> };

/** Thrown by a handler for input that can never succeed: dead-lettered at once, not retried. */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
}

/** A message as it came, for consumers of streams that hold no single contract (dead letters). */
export interface RawMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}
export type RawHandler = (em: EntityManager, message: RawMessage, meta: MessageMeta) => Promise<void>;

export interface ConsumerOptions {
  readonly consumer: ConsumerName;
  /** Contract handlers by subject; or `raw` for every message whatever its subject. */
  readonly handlers: HandlerMap | { readonly raw: RawHandler };
  readonly orm: MikroORM;
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly replicas: number;
  readonly logger: Logger;
  /** Messages handled at once by this process. */
  readonly concurrency?: number;
  readonly onHandled?: (subject: string, outcome: 'ok' | 'duplicate' | 'retry' | 'dead_letter') => void;
}

/** Delay before the next delivery: 100 ms, 200 ms, 400 ms … capped at 5 s. */
export function retryDelayMs(deliveryCount: number): number {
  return Math.min(5000, 100 * 2 ** Math.max(0, deliveryCount - 1));
}

export function createConsumer(options: ConsumerOptions): Worker {
  const { orm, logger, namespace } = options;
  const name = consumerName(namespace, options.consumer);
  const stream = streamName(namespace, CONSUMERS[options.consumer].stream);
  const js = jetstream(options.nats);
  const concurrency = options.concurrency ?? 16;
  const log = logger.child({ consumer: options.consumer });
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let running = false;
  const inFlight = new Set<Promise<void>>();

  async function deadLetter(msg: JsMsg, error: string): Promise<void> {
    log.error({ subject: msg.subject, seq: msg.seq, error }, 'message dead-lettered');
    await publishDeadLetter(js, namespace, deadLetterOf(msg, options.consumer, error));
    msg.term(error.slice(0, 200));
    options.onHandled?.(msg.subject, 'dead_letter');
  }

  /** The handler bound to this message's payload, or why there is none. */
  function bind(
    msg: JsMsg,
    subject: string,
  ): ((em: EntityManager, meta: MessageMeta) => Promise<unknown>) | string {
    const handlers = options.handlers;
    if ('raw' in handlers && typeof handlers.raw === 'function') {
      const raw = handlers.raw;
      const headers: Record<string, string> = {};
      for (const key of msg.headers?.keys() ?? []) headers[key] = msg.headers!.get(key);
      return (em, meta) => raw(em, { subject, data: msg.data, headers }, meta);
    }
    const contract = contractSubjectOf(subject);
    const handler = contract
      ? ((handlers as HandlerMap)[contract] as MessageHandler<Subject> | undefined)
      : undefined;
    if (!contract || !handler) return `no handler for ${subject}`;
    try {
      const payload = validateMessage(contract, JSON.parse(new TextDecoder().decode(msg.data)));
      return (em, meta) => handler(em, payload, meta);
    } catch (err) {
      return `invalid message: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /**
   * Handles a message in a CONSUMER span that continues the publisher's trace (the traceparent
   * the outbox stored with it), so whatever the handler enqueues carries the same trace on.
   */
  async function handle(msg: JsMsg): Promise<void> {
    const subject = unqualify(namespace, msg.subject);
    const messageId = msg.headers?.get('Nats-Msg-Id') || `${msg.info.stream}:${msg.seq}`;
    const parent = contextFrom({
      traceparent: msg.headers?.get('traceparent') || undefined,
      tracestate: msg.headers?.get('tracestate') || undefined,
    });
    const span = tracer().startSpan(
      // Named by the contract's subject: per-order suffixes would make a name per order.
      `process ${contractSubjectOf(subject) ?? subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          // Messaging semantic conventions (still incubating, so spelled out here).
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.destination.name': subject,
          'messaging.consumer.group.name': options.consumer,
          'messaging.message.id': messageId,
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), () => settle(msg, subject, messageId, span));
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  async function settle(msg: JsMsg, subject: string, messageId: string, span: Span): Promise<void> {
    const run = bind(msg, subject);
    if (typeof run === 'string') {
      failSpan(span, run);
      return deadLetter(msg, run);
    }
    const meta: MessageMeta = { subject, messageId, deliveryCount: msg.info.deliveryCount };
    try {
      const handled = await backgroundFork(orm).transactional(async (em) => {
        const inserted = await em.execute<{ affectedRows: number }>(
          'insert into inbox (consumer, message_id) values (?, ?) on conflict do nothing',
          [options.consumer, messageId],
          'run',
        );
        if (inserted.affectedRows === 0) return false;
        await run(em, meta);
        return true;
      });
      msg.ack();
      options.onHandled?.(msg.subject, handled ? 'ok' : 'duplicate');
    } catch (err) {
      failSpan(span, err);
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof PermanentFailure || msg.info.deliveryCount >= MAX_DELIVER) {
        await deadLetter(msg, reason);
        return;
      }
      log.warn(
        { err, subject, deliveries: msg.info.deliveryCount, traceId: span.spanContext().traceId },
        'handler failed; will retry',
      );
      msg.nak(retryDelayMs(msg.info.deliveryCount));
      options.onHandled?.(msg.subject, 'retry');
    }
  }

  async function run(): Promise<void> {
    const consumer = await js.consumers.get(stream, name);
    messages = await consumer.consume({ max_messages: concurrency * 2 });
    for await (const msg of messages) {
      const task = handle(msg).catch((err: unknown) => {
        // Publishing the dead letter failed (NATS away): leave the message to be redelivered.
        log.error({ err, subject: msg.subject }, 'message left unacknowledged');
      });
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  }

  return {
    name: `consumer:${options.consumer}`,
    async start() {
      await ensureConsumer(
        await jetstreamManager(options.nats),
        { namespace, replicas: options.replicas },
        options.consumer,
      );
      running = true;
      loop = (async () => {
        while (running) {
          try {
            await run();
          } catch (err) {
            // e.g. the stream was lost with a NATS restart: pull again once it is back.
            log.error({ err }, 'consumer interrupted; resuming');
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        }
      })();
    },
    async stop() {
      // Stop pulling, finish what is in hand (its acks still reach NATS), then return.
      running = false;
      messages?.stop();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
