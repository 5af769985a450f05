// The messages a consumer has received and not yet settled. While a handler waits out an outage
// these may sit for longer than the consumer's ack wait, after which JetStream would deliver
// them again (one more delivery toward max deliveries, and a second copy in flight). Telling
// JetStream we are still working on them (`working()`, which resets the ack timer and is no
// delivery) keeps them ours for as long as they are held.
//
// Only so long, unless the consumer is waiting out an outage: a batch that hangs with no error
// (a database connection gone silent mid-transaction, a provider call that never returns) would
// otherwise keep its messages from every other instance until TCP gave up, many minutes later.
// Past `maxHoldMs` they are let go: JetStream delivers them again after the ack wait, to whichever
// instance pulls, and if the hung batch ever commits, the inbox makes one of the two a duplicate.
import type { JsMsg } from '@nats-io/jetstream';

export interface InHandOptions {
  /** How often held messages are reported in progress: well inside the consumer's ack wait. */
  readonly intervalMs: number;
  /** How long a message is kept from redelivery, outages aside. */
  readonly maxHoldMs: number;
  /** True while the consumer waits out an outage: then every held message is kept. */
  readonly waitingOut: () => boolean;
}

export class MessagesInHand {
  readonly #since = new Map<JsMsg, number>();
  readonly #options: InHandOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: InHandOptions) {
    this.#options = options;
  }

  add(msg: JsMsg): void {
    this.#since.set(msg, Date.now());
    this.#timer ??= setInterval(() => this.#heartbeat(), this.#options.intervalMs).unref();
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
    const now = Date.now();
    const due = now - this.#options.intervalMs;
    const outage = this.#options.waitingOut();
    for (const [msg, since] of this.#since) {
      if (since <= due && (outage || now - since < this.#options.maxHoldMs)) msg.working();
    }
  }
}
