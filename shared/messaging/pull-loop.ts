// The consumer's pulling: fetches messages, hands them on in batches one at a time, and stops
// fetching while the database is away (see consumer.ts).
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../logger.ts';
import type { MessagesInHand } from './in-hand.ts';

/** How long one pull request waits for messages before the next is made. */
const FETCH_EXPIRES_MS = 5000;

/** What the pulling shares with the consumer that runs it and stops it. */
export interface PullState {
  running: boolean;
  /** The current pull request, stopped when the consumer stops. */
  messages?: ConsumerMessages;
  /** When pulling began to fail (NATS away), until a pull request goes through again. */
  interruptedSince?: number;
  /** Fetches no more until the batch in hand is through (set by pullAndHandle). */
  pause: () => void;
  /** The batches being handled, awaited when the consumer stops. */
  readonly inFlight: Set<Promise<void>>;
  readonly inHand: MessagesInHand;
}

export interface PullOptions {
  readonly batchSize: number;
  readonly log: Logger;
  /** Handles one batch; a rejection is logged unless `isQuiet` says it needs no word. */
  readonly handleBatch: (batch: readonly JsMsg[]) => Promise<void>;
  readonly isQuiet: (err: unknown) => boolean;
}

// Pulled with fetch (one bounded pull request at a time) rather than consume(): consume()
// keeps pulling as messages arrive whether or not they are taken, and stopping it drops what
// is on its way, which comes back later as another delivery. A fetch hands over everything it
// pulled, and pausing is simply not fetching again until the batch in hand is through.
export async function pullAndHandle(
  consumer: Consumer,
  state: PullState,
  options: PullOptions,
): Promise<void> {
  const { batchSize, log } = options;
  let paused = false;
  state.pause = () => void (paused = true);
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
    busy = options
      .handleBatch(batch)
      .catch((err: unknown) => {
        // Stopping meanwhile, or publishing a dead letter failed (NATS away): leave the rest
        // to be redelivered.
        if (!options.isQuiet(err)) log.error({ err }, 'messages left unacknowledged');
      })
      .finally(() => {
        state.inHand.delete(batch);
        state.inFlight.delete(busy!);
        busy = undefined;
        pump();
      });
    state.inFlight.add(busy);
  };
  try {
    while (state.running) {
      if (paused) {
        // The database is away: nothing more is pulled until what is in hand is through.
        while (busy || scheduled) await (busy ?? new Promise((resolve) => setImmediate(resolve)));
        paused = false;
        continue;
      }
      const pulled = await consumer.fetch({ max_messages: batchSize * 2, expires: FETCH_EXPIRES_MS });
      state.messages = pulled;
      if (state.interruptedSince !== undefined) {
        log.info({ downMs: Date.now() - state.interruptedSince }, 'consumer pulling again');
        state.interruptedSince = undefined;
      }
      for await (const msg of pulled) {
        state.inHand.add(msg);
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
