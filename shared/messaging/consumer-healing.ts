// A consumer deleted under its running service, alone or with its stream (self-healing.ts): made
// again where the one that vanished had got to, so that the consumer can pull again (consumer.ts).
import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../logger.ts';
import type { NatsConnection } from './nats.ts';
import { CONSUMERS, consumerName, ensureConsumer, streamName, type ConsumerName } from './topology.ts';
import { declareStreamsAgain, isVanished } from './self-healing.ts';

/** How often the consumer's info (how far it has acknowledged) is looked up, for restartFrom. */
const REMEMBER_EVERY_MS = 10_000;

export interface ConsumerHealerOptions {
  readonly nats: NatsConnection;
  readonly consumer: ConsumerName;
  readonly namespace: string;
  readonly replicas: number;
  readonly log: Logger;
}

export class ConsumerHealer {
  readonly #options: ConsumerHealerOptions;
  readonly #stream: string;
  readonly #name: string;
  /** The consumer's info as last seen: where to start if it has to be made again. */
  #lastSeen: ConsumerInfo | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ConsumerHealerOptions) {
    this.#options = options;
    this.#stream = streamName(options.namespace, CONSUMERS[options.consumer].stream);
    this.#name = consumerName(options.namespace, options.consumer);
  }

  /** The consumer as just seen (when pulling begins). */
  remember(info: ConsumerInfo): void {
    this.#lastSeen = info;
  }

  /** Looks the consumer up every REMEMBER_EVERY_MS while `pulling()` says it pulls, until stopped. */
  start(jsm: JetStreamManager, pulling: () => boolean): void {
    this.#timer = setInterval(() => {
      if (!pulling()) return;
      // Kept as it was when this fails (the consumer gone, NATS away).
      jsm.consumers.info(this.#stream, this.#name).then(
        (info) => this.remember(info),
        () => undefined,
      );
    }, REMEMBER_EVERY_MS).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * After a failure to pull: when it says the consumer or its stream is gone, declares them
   * again as the service does at start. Returns whether it did (pull again at once).
   */
  async declareAgain(jsm: JetStreamManager, err: unknown): Promise<boolean> {
    if (!isVanished(err)) return false;
    const { consumer, namespace, replicas, log } = this.#options;
    try {
      // The service that runs the consumer updates only the streams it owns (topology.ts).
      const service = CONSUMERS[consumer].service;
      const created = await declareStreamsAgain(this.#options.nats, { namespace, replicas, service });
      const from = await restartFrom(jsm, this.#stream, this.#lastSeen);
      await ensureConsumer(jsm, { namespace, replicas }, consumer, from);
      log.info({ createdStreams: created, from }, 'consumer was gone; declared it again');
      return true;
    } catch (healErr) {
      log.debug({ err: healErr }, 'declaring the consumer again failed; trying again');
      return false;
    }
  }
}

/**
 * Where a consumer made again after it vanished starts, so that it skips nothing the one that
 * vanished had not acknowledged and repeats little that it had (a repeat changes nothing: the
 * inbox): after the last acknowledgement seen, or at the stream's start when the stream itself
 * is newer than the consumer seen (deleted with it, or wiped). Undefined (start as declared)
 * when it was never seen.
 */
export async function restartFrom(
  jsm: Pick<JetStreamManager, 'streams'>,
  stream: string,
  last: ConsumerInfo | undefined,
): Promise<number | undefined> {
  if (!last) return undefined;
  const { created } = await jsm.streams.info(stream);
  if (Date.parse(created) > Date.parse(last.created)) return 1;
  if (last.ack_floor.consumer_seq > 0) return last.ack_floor.stream_seq + 1;
  // Nothing acknowledged yet: from where it began if nothing was delivered either, else from
  // the stream's start (where it began is not known then).
  return last.delivered.consumer_seq === 0 ? last.delivered.stream_seq + 1 : 1;
}
