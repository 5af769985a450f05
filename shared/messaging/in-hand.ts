// The messages a consumer has received and not yet settled. While a handler waits out an outage
// these may sit for longer than the consumer's ack wait, after which JetStream would deliver
// them again (one more delivery toward max deliveries, and a second copy in flight). Telling
// JetStream we are still working on them (`working()`, which resets the ack timer and is no
// delivery) keeps them ours for as long as they are held.
import type { JsMsg } from '@nats-io/jetstream';

export class MessagesInHand {
  readonly #since = new Map<JsMsg, number>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  /** `intervalMs`: well inside the consumer's ack wait. */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  add(msg: JsMsg): void {
    this.#since.set(msg, Date.now());
    this.#timer ??= setInterval(() => this.#heartbeat(), this.#intervalMs).unref();
  }

  delete(messages: Iterable<JsMsg>): void {
    for (const msg of messages) this.#since.delete(msg);
    if (this.#since.size === 0) this.clear();
  }

  clear(): void {
    this.#since.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Only those held for a while: at low load every message is settled long before. */
  #heartbeat(): void {
    const due = Date.now() - this.#intervalMs;
    for (const [msg, since] of this.#since) if (since <= due) msg.working();
  }
}
