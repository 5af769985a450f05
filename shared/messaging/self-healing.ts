// Streams and consumers that vanish under running services: an operator's `nats stream rm` or
// `nats consumer rm`, or a NATS server restarted with its store wiped. They are declared at
// start only, so nothing would make them again: a consumer that finds its consumer or stream
// gone (consumer.ts), and an outbox relay whose publishes find no stream (outbox-relay.ts),
// declare them again with what every process runs at start (topology.ts). A process that cannot
// pull or publish for a while says so in /health/ready.
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { ReadinessCheck } from '../http/server.ts';
import type { NatsConnection } from './nats.ts';
import { ensureStreams, type TopologyOptions } from './topology.ts';

/** How long a consumer may fail to pull, or the relay to publish, before /health/ready says so. */
export const STALLED_AFTER_MS = 30_000;

/** JetStream answered that the consumer or the stream asked for does not exist. */
export function isVanished(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.ConsumerNotFound || err.code === JetStreamApiCodes.StreamNotFound)
  );
}

/** Declarations under way, per connection and namespace. */
const declaring = new WeakMap<NatsConnection, Map<string, Promise<string[]>>>();

/**
 * ensureStreams, one at a time per connection and namespace: a stream deleted under a process
 * is found gone by its relay and several of its consumers at once, and one declaration answers
 * them all. Resolves with the names of the streams it had to create.
 */
export function declareStreamsAgain(nc: NatsConnection, options: TopologyOptions): Promise<string[]> {
  let byNamespace = declaring.get(nc);
  if (!byNamespace) declaring.set(nc, (byNamespace = new Map<string, Promise<string[]>>()));
  const under = byNamespace;
  let declared = under.get(options.namespace);
  if (!declared) {
    declared = jetstreamManager(nc)
      .then((jsm) => ensureStreams(jsm, options))
      .finally(() => under.delete(options.namespace));
    under.set(options.namespace, declared);
  }
  return declared;
}

/**
 * A readiness check that fails once `since()`, when the worker began to fail, is more than
 * `afterMs` ago: a consumer that cannot pull, or a relay that cannot publish, takes the process
 * out of service until it can again.
 */
export function stalledCheck(
  name: string,
  doing: string,
  since: () => number | undefined,
  afterMs: number,
): ReadinessCheck {
  return {
    name,
    check() {
      const began = since();
      if (began === undefined || Date.now() - began <= afterMs) return Promise.resolve();
      return Promise.reject(new Error(`not ${doing} for ${Math.round((Date.now() - began) / 1000)} s`));
    },
  };
}
