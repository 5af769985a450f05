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
  /** When pulling began to fail (NATS away, the consumer gone), until a pull request goes through again. */
  interruptedSince?: number;
  /** Fetches no more until the batch in hand is through (set by pullAndHandle). */
  pause: () => void;
  /** The batches being handled, awaited when the consumer stops. */
  readonly inFlight: Set<Promise<void>>;
  readonly inHand: MessagesInHand;
}

export interface PullOptions {
  readonly batchSize: number;
  /**
   * How long a batch's oldest message waits for others to join it (0: until the event loop has
   * handled what came in with it). A full batch starts at once.
   */
  readonly batchWaitMs?: number;
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
  const batchWaitMs = options.batchWaitMs ?? 0;
  let paused = false;
  state.pause = () => void (paused = true);
  /** Messages pulled and not yet in a batch, each with when it arrived (performance.now()). */
  const waiting: { readonly msg: JsMsg; readonly at: number }[] = [];
  let busy: Promise<void> | undefined;
  /** The next batch's start, scheduled and not yet run; `now` runs it at once. */
  let scheduled: { readonly started: Promise<void>; readonly now: () => void } | undefined;
  // One batch at a time: what arrives meanwhile forms the next batch. At low load a batch is
  // a single message; under load batches grow and each message costs less. A batch starts on
  // the next turn of the event loop rather than at once, so that the messages that came in
  // the same read from NATS (e.g. two orders' replies) share its transaction. With a batch
  // wait, a batch starts once its oldest message has waited that long (what arrived while the
  // last batch was handled may have already), or when it is full.
  const pump = (): void => {
    if (busy || scheduled || waiting.length === 0) return;
    const waitMs = waiting.length < batchSize ? waiting[0]!.at + batchWaitMs - performance.now() : 0;
    const wait = waitMs >= 1;
    let now!: () => void;
    const started = new Promise<void>((resolve) => {
      const timer = wait ? setTimeout(() => now(), waitMs) : undefined;
      const immediate = wait ? undefined : setImmediate(() => now());
      // Runs once: its timer or immediate is cleared here, and only the current schedule's
      // `now` is ever called (a new one is made only after this one ran).
      now = () => {
        clearTimeout(timer);
        clearImmediate(immediate);
        scheduled = undefined;
        startBatch();
        resolve();
      };
    });
    scheduled = { started, now };
  };
  const startBatch = (): void => {
    if (busy || waiting.length === 0) return;
    const batch = waiting.splice(0, batchSize).map((w) => w.msg);
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
  const settled = async (): Promise<void> => {
    while (busy || scheduled) await (busy ?? scheduled?.started);
  };
  try {
    while (state.running) {
      if (paused) {
        // The database is away: nothing more is pulled until what is in hand is through.
        await settled();
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
        waiting.push({ msg, at: performance.now() });
        // A full batch waits for nothing (a batch is scheduled only while none is busy).
        if (waiting.length >= batchSize && scheduled) scheduled.now();
        else pump();
        // Once paused, the rest of this pull is taken in hand at once (and held).
        if (waiting.length >= batchSize && busy && !paused) await busy;
      }
    }
  } finally {
    // Also when pulling failed (NATS away): what is in hand is handled, its acks sent later,
    // without waiting for more to join it.
    scheduled?.now();
    await settled();
  }
}
