// What becomes of the messages a consumer pulled: handled as a batch in one transaction, or,
// when the batch fails, one by one; then acked, retried later with a growing delay, or
// dead-lettered (see consumer.ts).
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../logger.ts';
import { MAX_DELIVER } from './topology.ts';
import { PermanentFailure, receive, type Delivery, type Handlers, type Unneeded } from './delivery.ts';
import { deadLetterOf, publishDeadLetter } from './dead-letters.ts';
import { isRunnable, transact, type InboxTransactionOptions, type Runnable } from './inbox-transaction.ts';
import { failSpan } from '../observability/tracing.ts';

export type HandledOutcome = 'ok' | 'duplicate' | 'skipped' | 'retry' | 'dead_letter';

export interface SettlingOptions extends InboxTransactionOptions {
  readonly namespace: string;
  readonly handlers: Handlers;
  readonly unneeded?: Unneeded;
  readonly js: JetStreamClient;
  readonly log: Logger;
  readonly onHandled?: (subject: string, outcome: HandledOutcome) => void;
  /**
   * Waits out a failure because the database cannot be reached (see consumer.ts): returns
   * whether to run the handler again; throws when the consumer stops meanwhile.
   */
  readonly waitOut: (err: unknown, retries: number) => Promise<boolean>;
  /** Deliveries of a failing message before it is dead-lettered (default MAX_DELIVER). */
  readonly maxDeliveries?: number;
  /**
   * Failures retried for as long as they last, never dead-lettered (past MAX_DELIVER they keep
   * coming back every few seconds): e.g. a compensation whose payment provider is away, which
   * must still happen once it is back.
   */
  readonly retriesUntilDone?: (subject: string, err: unknown) => boolean;
}

/** Delay before the next delivery: 100 ms, 200 ms, 400 ms … capped at 5 s. */
function retryDelayMs(deliveryCount: number): number {
  return Math.min(5000, 100 * 2 ** Math.max(0, deliveryCount - 1));
}

/**
 * Handles what arrived together in one transaction: under load this saves a BEGIN, a COMMIT,
 * an inbox and an outbox statement per message, which is most of a message's cost. If any
 * handler fails, nothing of the batch is kept and each message is handled on its own, so one
 * bad message still only affects itself.
 */
export async function handleBatch(options: SettlingOptions, messages: readonly JsMsg[]): Promise<void> {
  const deliveries: Delivery[] = [];
  for (const msg of messages) {
    const d = receive(msg, options.namespace, options.consumer, options.handlers);
    if (isUnneeded(options, d)) skip(options, d);
    else deliveries.push(d);
  }
  const runnable = deliveries.filter(isRunnable);
  try {
    for (let retries = 0; runnable.length > 1; retries++) {
      try {
        const handled = await transact(options, runnable);
        for (const d of runnable) {
          finish(options, d, handled.has(d) ? 'ok' : 'duplicate');
          d.span.end();
        }
        for (const d of deliveries) if (!isRunnable(d)) await settle(options, d);
        return;
      } catch (err) {
        if (await options.waitOut(err, retries)) continue;
        options.log.debug({ err, size: runnable.length }, 'batch failed; handling its messages one by one');
        break;
      }
    }
  } catch (err) {
    for (const d of deliveries) d.span.end();
    throw err;
  }
  for (const d of deliveries) await settle(options, d);
}

/** A valid message its handler would do nothing with (consumer.ts: unneeded). */
function isUnneeded(options: SettlingOptions, d: Delivery): boolean {
  return !!options.unneeded && isRunnable(d) && options.unneeded(d.payload, d.meta.subject);
}

/** Acknowledges an unneeded message with no transaction and no inbox row. */
function skip(options: SettlingOptions, d: Delivery): void {
  d.msg.ack();
  options.onHandled?.(d.msg.subject, 'skipped');
  d.span.end();
}

/** One message in a transaction of its own: acked, retried later with backoff, or dead-lettered. */
async function settle(options: SettlingOptions, d: Delivery): Promise<void> {
  const { msg, span } = d;
  try {
    if (!isRunnable(d)) {
      failSpan(span, d.run);
      return await deadLetter(options, msg, d.run as string);
    }
    for (let retries = 0; ; retries++) {
      try {
        const handled = await transact(options, [d]);
        return finish(options, d, handled.has(d) ? 'ok' : 'duplicate');
      } catch (err) {
        if (await options.waitOut(err, retries)) continue;
        return await fail(options, d, err);
      }
    }
  } finally {
    span.end();
  }
}

function finish(options: SettlingOptions, d: Delivery, outcome: 'ok' | 'duplicate'): void {
  d.msg.ack();
  options.onHandled?.(d.msg.subject, outcome);
}

/** A handler failed: retried later with backoff, or dead-lettered. */
async function fail(options: SettlingOptions, d: Runnable, err: unknown): Promise<void> {
  const { msg, span } = d;
  failSpan(span, err);
  const reason = err instanceof Error ? err.message : String(err);
  const exhausted =
    msg.info.deliveryCount >= (options.maxDeliveries ?? MAX_DELIVER) &&
    !options.retriesUntilDone?.(d.meta.subject, err);
  if (err instanceof PermanentFailure || exhausted) return await deadLetter(options, msg, reason);
  options.log.warn(
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
 * Moves the message to the dead-letter stream. If that publish fails (NATS reconnecting, the
 * dead-letter stream electing a leader), the message is delivered again and dead-lettered then:
 * it is never dropped without its dead letter.
 */
async function deadLetter(options: SettlingOptions, msg: JsMsg, error: string): Promise<void> {
  try {
    await publishDeadLetter(options.js, options.namespace, deadLetterOf(msg, options.consumer, error));
  } catch (err) {
    options.log.warn(
      { err, subject: msg.subject, seq: msg.seq, error },
      'dead-lettering failed; the message will be delivered again',
    );
    msg.nak(retryDelayMs(msg.info.deliveryCount));
    options.onHandled?.(msg.subject, 'retry');
    return;
  }
  options.log.error({ subject: msg.subject, seq: msg.seq, error }, 'message dead-lettered');
  msg.term(error.slice(0, 200));
  options.onHandled?.(msg.subject, 'dead_letter');
}
