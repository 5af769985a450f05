// Creating or updating streams and consumers at start-up, asked again while JetStream cannot
// answer yet. In a cluster every such change is agreed by the nodes (a Raft proposal), which
// takes longer than the client's request time limit while a node is electing, catching up or
// busy with a dozen services starting together; on one server JetStream may still be
// recovering its store after a restart. Either passes within seconds, so a service waits it out
// rather than exiting (its supervisor would only restart it into the same wait). Anything else,
// e.g. a permission refused, fails the start at once.
import { NoRespondersError, TimeoutError } from '@nats-io/nats-core';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { Logger } from '../logger.ts';

/** JetStream's "temporarily unavailable" (no stream or meta leader yet): 10008. */
const JETSTREAM_NOT_READY = 10008;

/** True for a failure that passes by itself once the cluster has a leader again. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TimeoutError || error instanceof NoRespondersError) return true;
  if (error instanceof JetStreamApiError) return error.code === JETSTREAM_NOT_READY;
  // A request's RequestError carries what went wrong (no responders) as its cause.
  return error instanceof Error && error.cause !== undefined && isTransient(error.cause);
}

/** Runs `provision` until it succeeds, again after each transient failure, for up to `timeoutMs`. */
export async function provisionPatiently<T>(
  what: string,
  provision: () => Promise<T>,
  logger: Logger,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await provision();
    } catch (err) {
      if (!isTransient(err) || Date.now() > deadline) throw err;
      logger.warn({ err, attempt }, `${what}: JetStream did not answer yet; asking again`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2000)));
    }
  }
}
