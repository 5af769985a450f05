// Waiting out an outage of a dependency (the service's database): probes it with a growing
// delay until it answers, logging the outage once when it starts and once when it ends. A
// consumer waits here, holding the messages it has, instead of failing them: a failed message
// is delivered again, and every delivery counts toward the consumer's max deliveries, so an
// outage longer than the retries would dead-letter messages that are perfectly good.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../logger.ts';

export interface OutageWaiterOptions {
  /** Resolves when the dependency answers, rejects when it does not. */
  readonly probe: () => Promise<unknown>;
  readonly logger: Logger;
  /** Named in the log lines ("database"). */
  readonly dependency: string;
  /** Aborted when the owner stops: the wait ends without the dependency back. */
  readonly signal: AbortSignal;
  /**
   * First delay between probes (default 100 ms), doubled up to maxDelayMs (default 1 s): the
   * work resumes at most that long after the dependency is back, and a probe of a server that
   * is not there costs a refused connection.
   */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface OutageWait {
  /** The dependency answers again (false: the owner stopped first). */
  readonly available: boolean;
  /** At least one probe failed: it really was away, rather than a single connection lost. */
  readonly wasDown: boolean;
}

export function createOutageWaiter(options: OutageWaiterOptions): () => Promise<OutageWait> {
  const { logger, dependency, signal } = options;
  const minDelay = options.minDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 1000;
  return async () => {
    let since: number | undefined;
    for (let wait = minDelay; !signal.aborted; wait = Math.min(maxDelay, wait * 2)) {
      try {
        await options.probe();
        if (since !== undefined)
          logger.info({ dependency, downMs: Date.now() - since }, `${dependency} is back; resuming`);
        return { available: true, wasDown: since !== undefined };
      } catch (err) {
        if (since === undefined) {
          since = Date.now();
          logger.warn({ err, dependency }, `${dependency} unavailable; paused until it answers`);
        }
      }
      await delay(wait, undefined, { signal }).catch(() => undefined);
    }
    return { available: false, wasDown: since !== undefined };
  };
}
