// Publishes a transaction's outbox rows from memory as soon as its own process sees the commit,
// instead of waking the relay with a NOTIFY for it to read them back (outbox-relay.ts). That
// saves, per transaction, the notification (a server-wide queue, a wake-up of the listening
// backend and of the relay) and the relay's read statement. The rows are still written to the
// outbox in the transaction: if this process dies before JetStream has them, the relay
// publishes them on its next pass, and the relay deletes them once they are published here.
//
// Order: two transactions that change the same entity are serialized by its row lock, so the
// later one takes its slot (reserve(), called before COMMIT is sent) after the earlier one took
// its own. Slots send in the order they were taken, each once its transaction has settled, on
// one NATS connection: the stream stores the earlier transaction's messages first, even when the
// later commit is the first one this process hears of. Rows written by other processes, or by
// code that does not reserve a slot, are published by the relay, which sees a row only once it
// has committed and sends what it sees in commit order (see outbox-relay.ts).
import type { Logger } from '../logger.ts';
import type { NatsConnection } from './nats.ts';
import type { OutboxRow } from './outbox.ts';
import { qualify } from './topology.ts';
import { streamPublisherFor, type StreamPublisher } from './stream-publisher.ts';

/** A place in line for one transaction's rows, taken before it commits. */
export interface PublishSlot {
  /** The transaction committed with these rows (in the order it wrote them). */
  committed(rows: readonly OutboxRow[]): void;
  /** The transaction rolled back, or its outcome is unknown: the relay has whatever committed. */
  abandoned(): void;
}

export interface CommitPublisherOptions {
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly logger: Logger;
  readonly onPublished?: (count: number) => void;
  /** A publish failed: the rows stay in the outbox for the relay, which is asked to run now. */
  readonly onFailed?: () => void;
}

export class CommitPublisher {
  readonly #options: CommitPublisherOptions;
  readonly #publisher: StreamPublisher;
  /** Settles when the last slot taken has sent its rows (or had none to send). */
  #tail: Promise<void> = Promise.resolve();
  /** Row ids sent and not yet acknowledged: the relay must not send them too. */
  readonly #inFlight = new Set<string>();
  /** Row ids JetStream has acknowledged, to be deleted from the outbox by the relay. */
  #published: string[] = [];

  constructor(options: CommitPublisherOptions) {
    this.#options = options;
    this.#publisher = streamPublisherFor(options.nats);
  }

  reserve(): PublishSlot {
    let settle!: (rows: readonly OutboxRow[] | undefined) => void;
    const outcome = new Promise<readonly OutboxRow[] | undefined>((resolve) => (settle = resolve));
    this.#tail = this.#tail
      .then(() => outcome)
      .then((rows) => {
        if (rows && rows.length > 0) this.#send(rows);
      });
    return { committed: (rows) => settle(rows), abandoned: () => settle(undefined) };
  }

  /** Ids the relay must neither send nor delete yet: sent here and not yet acknowledged. */
  inFlight(): string[] {
    return [...this.#inFlight];
  }

  /** Ids published here since the last call; the caller deletes them from the outbox. */
  takePublished(): string[] {
    const ids = this.#published;
    this.#published = [];
    return ids;
  }

  /** Hands back ids whose deletion failed, to be deleted with the next ones. */
  returnPublished(ids: readonly string[]): void {
    this.#published.push(...ids);
  }

  /** Resolves once every slot taken so far has sent, and what it sent has been acknowledged or failed. */
  async settled(): Promise<void> {
    await this.#tail;
    while (this.#inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Sends synchronously, in order (the stream stores them in the order sent on one connection). */
  #send(rows: readonly OutboxRow[]): void {
    const { namespace, logger } = this.#options;
    const acks = rows.map((row) => {
      this.#inFlight.add(row.id);
      return this.#publisher.publish({
        subject: qualify(namespace, row.subject),
        payload: row.payload,
        msgId: row.id,
        headers: row.headers,
      });
    });
    void Promise.allSettled(acks).then((results) => {
      let failed = false;
      results.forEach((result, i) => {
        const { id } = rows[i]!;
        this.#inFlight.delete(id);
        if (result.status === 'fulfilled') this.#published.push(id);
        else failed = true;
      });
      const published = results.length - results.filter((r) => r.status === 'rejected').length;
      if (published > 0) this.#options.onPublished?.(published);
      if (failed) {
        logger.debug({ rows: rows.length }, 'publishing after commit failed; the outbox relay will');
        this.#options.onFailed?.();
      }
    });
  }
}
