// A JetStream message as a consumer handles it: decoded and validated against its contract,
// bound to its handler (or with the reason it has none), in a CONSUMER span that continues the
// publisher's trace. The handler types live here too.
import type { JsMsg } from '@nats-io/jetstream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { contractSubjectOf, validateMessage, type PayloadOf, type Subject } from '../contracts/index.ts';
import { unqualify } from './topology.ts';
import { contextFrom, tracer } from '../observability/tracing.ts';

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
export type BatchPreparer = (em: EntityManager, payloads: readonly unknown[]) => Promise<void>;
/**
 * Whether a message, valid as it is, would change nothing: such a message is acknowledged at
 * once, without a transaction or an inbox row (doing nothing a second time changes nothing).
 */
export type Unneeded = (payload: unknown, subject: string) => boolean;
export type BoundHandler = (em: EntityManager, meta: MessageMeta) => Promise<unknown>;

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

/** Contract handlers by subject; or `raw` for every message whatever its subject. */
export type Handlers = HandlerMap | { readonly raw: RawHandler };

/** The handler bound to this message's payload, or why there is none. */
function bind(
  msg: JsMsg,
  subject: string,
  handlers: Handlers,
): { run: BoundHandler | string; payload?: unknown } {
  if ('raw' in handlers && typeof handlers.raw === 'function') {
    const raw = handlers.raw;
    const headers: Record<string, string> = {};
    for (const key of msg.headers?.keys() ?? []) headers[key] = msg.headers!.get(key);
    return { run: (em, meta) => raw(em, { subject, data: msg.data, headers }, meta) };
  }
  const contract = contractSubjectOf(subject);
  const handler = contract
    ? ((handlers as HandlerMap)[contract] as MessageHandler<Subject> | undefined)
    : undefined;
  if (!contract || !handler) return { run: `no handler for ${subject}` };
  try {
    const payload = validateMessage(contract, msg.json<unknown>());
    return { run: (em, meta) => handler(em, payload, meta), payload };
  } catch (err) {
    return { run: `invalid message: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** A message read and checked: its handler bound, or why it has none; its CONSUMER span open. */
export interface Delivery {
  readonly msg: JsMsg;
  readonly meta: MessageMeta;
  /** The bound handler; a string says why there is none (the message is dead-lettered). */
  readonly run: BoundHandler | string;
  readonly payload: unknown;
  /** The publisher's trace continued: the outbox stored its traceparent with the message. */
  readonly context: Context;
  readonly span: Span;
}

export function receive(msg: JsMsg, namespace: string, consumer: string, handlers: Handlers): Delivery {
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
        'messaging.consumer.group.name': consumer,
        'messaging.message.id': messageId,
      },
    },
    parent,
  );
  const { run, payload } = bind(msg, subject, handlers);
  return {
    msg,
    meta: { subject, messageId, deliveryCount: msg.info.deliveryCount },
    run,
    payload,
    context: trace.setSpan(parent, span),
    span,
  };
}
