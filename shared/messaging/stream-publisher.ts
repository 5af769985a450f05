// JetStream publishes with their acknowledgements read from one subscription, for the outbox's
// hot path (commit-publisher.ts, outbox-relay-pass.ts). `js.publish()` is a request: per message
// nats-core builds a request object, a promise and a timer raced against it, and, once the
// acknowledgement is in, an Error (with its stack trace) to reject the already settled request
// with. Profiles of the services put that Error alone at a few percent of their CPU. Here a
// publish is a plain publish with a reply subject under this connection's inbox, whose
// acknowledgement is matched by its last token; one timer expires whatever waits too long.
// The message on the wire is the one `js.publish()` sends: the same subject, payload, headers
// (Nats-Msg-Id for JetStream's duplicate window) and a reply subject.
import { createInbox, headers as natsHeaders, type Msg, type Subscription } from '@nats-io/nats-core';
import type { NatsConnection } from './nats.ts';
import { inboxPrefixOf } from './nats.ts';

/** A publish JetStream refused, or that no stream took (no responders), or that timed out. */
export class StreamPublishError extends Error {
  override name = 'StreamPublishError';
  /**
   * The message may have found no stream to take it: nothing listened on its subject (503), or
   * nothing acknowledged it in time (a plain subscriber took it alone, e.g. the gateway's on order
   * statuses). Not when JetStream refused it or the connection dropped.
   */
  readonly streamMayBeMissing: boolean;

  constructor(message: string, options: { streamMayBeMissing?: boolean } = {}) {
    super(message);
    this.streamMayBeMissing = options.streamMayBeMissing ?? false;
  }
}

interface Waiting {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly deadline: number;
}

export interface StreamMessage {
  readonly subject: string;
  readonly payload: string | Uint8Array;
  /** Nats-Msg-Id: JetStream drops a second publish with the same id inside its duplicate window. */
  readonly msgId: string;
  readonly headers?: Readonly<Record<string, string>> | null;
}

export class StreamPublisher {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #inbox: string;
  readonly #subscription: Subscription;
  /** By token, in the order published, so the oldest deadline comes first. */
  readonly #waiting = new Map<string, Waiting>();
  #next = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(nc: NatsConnection, timeoutMs = 5000) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#inbox = createInbox(inboxPrefixOf(nc));
    this.#subscription = nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => this.#answered(err, msg),
    });
    void this.#subscription.closed.then(() => this.#failAll('the NATS connection closed'));
    void (async () => {
      // As nats-core does with its requests: what was in flight when the connection dropped is
      // failed now rather than at its deadline (the outbox relay sends it again).
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.#failAll('the NATS connection dropped');
      }
    })().catch(() => undefined);
  }

  /** Resolves once JetStream has stored the message (or had it already: a duplicate). */
  publish(message: StreamMessage): Promise<void> {
    const token = (this.#next++).toString(36);
    const h = natsHeaders();
    for (const [key, value] of Object.entries(message.headers ?? {})) h.set(key, value);
    h.set('Nats-Msg-Id', message.msgId);
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(token, { resolve, reject, deadline: Date.now() + this.#timeoutMs });
      if (!this.#timer) this.#timer = this.#expireIn(this.#timeoutMs);
      try {
        this.#nc.publish(message.subject, message.payload, { reply: `${this.#inbox}.${token}`, headers: h });
      } catch (err) {
        this.#waiting.delete(token);
        reject(err instanceof Error ? err : new StreamPublishError(String(err)));
      }
    });
  }

  #answered(err: Error | null, msg: Msg | undefined): void {
    // An error without a message ends the subscription (e.g. not allowed): nothing will answer.
    if (!msg) return this.#failAll(err?.message ?? 'the acknowledgements stopped');
    const token = msg.subject.slice(this.#inbox.length + 1);
    const waiting = this.#waiting.get(token);
    if (!waiting) return;
    this.#waiting.delete(token);
    const failure = err ?? refusal(msg);
    if (failure) waiting.reject(failure);
    else waiting.resolve();
  }

  #expire(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (const [token, waiting] of this.#waiting) {
      if (waiting.deadline > now) {
        this.#timer = this.#expireIn(waiting.deadline - now);
        return;
      }
      this.#waiting.delete(token);
      waiting.reject(
        new StreamPublishError(`no acknowledgement from JetStream within ${this.#timeoutMs} ms`, {
          streamMayBeMissing: true,
        }),
      );
    }
  }

  /** The acknowledgements awaited keep no process alive. */
  #expireIn(ms: number): NodeJS.Timeout {
    return setTimeout(() => this.#expire(), ms).unref();
  }

  #failAll(reason: string): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(new StreamPublishError(reason));
  }
}

/** Why JetStream did not store the message, or undefined when it did. */
function refusal(msg: Msg): Error | undefined {
  // A status message: 503 when no stream listens on the subject.
  if (msg.data.length === 0 && msg.headers?.hasError) {
    return new StreamPublishError(`${msg.headers.code} ${msg.headers.description || 'no responders'}`, {
      streamMayBeMissing: msg.headers.code === 503,
    });
  }
  try {
    const ack = msg.json<{ stream?: string; error?: { description?: string; code?: number } }>();
    if (ack.error) return new StreamPublishError(ack.error.description ?? `error ${ack.error.code}`);
    return ack.stream ? undefined : new StreamPublishError('invalid acknowledgement');
  } catch {
    return new StreamPublishError('invalid acknowledgement');
  }
}

const publishers = new WeakMap<NatsConnection, StreamPublisher>();

/** The connection's publisher, made on first use: one subscription per connection. */
export function streamPublisherFor(nc: NatsConnection): StreamPublisher {
  let publisher = publishers.get(nc);
  if (!publisher) publishers.set(nc, (publisher = new StreamPublisher(nc)));
  return publisher;
}
