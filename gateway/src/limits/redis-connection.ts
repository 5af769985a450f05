// The gateway's one Redis connection, shared by the rate limit and the login throttle when
// REDIS_URL is set. It is set up to fail fast rather than to wait: while Redis cannot be
// reached a command is refused at once (no offline queue, no retries) or gives up after a
// short timeout, and the limits answer from each instance's memory meanwhile
// (limits-store.ts); the client keeps reconnecting in the background.
import { Redis } from 'ioredis';
import type { Logger } from '../../../shared/logger.ts';

/**
 * How long a limit waits for Redis before deciding from memory. Every request waits on it, so
 * it is far below any client's patience and far above a healthy Redis's answer.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

export function connectLimitsRedis(url: string, keyPrefix: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    keyPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // How long disconnect() lets a socket close gracefully (also kept alive after a refused
    // connection, which never closes again: shutdown would wait that long).
    disconnectTimeout: REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  // One warning when Redis is lost (or cannot be reached at start), one line when it is back:
  // the client retries every few seconds, and each failed attempt is an 'error' event (without
  // a listener, one would crash the process).
  let state: 'starting' | 'up' | 'down' = 'starting';
  redis.on('error', (err: Error) => {
    if (state === 'down') return logger.debug({ err }, 'Redis connection error');
    state = 'down';
    logger.warn(
      { err },
      'Redis (REDIS_URL) cannot be reached: each gateway instance limits from its own memory until it is back',
    );
  });
  redis.on('ready', () => {
    logger.info(
      state === 'down' ? 'Redis reachable again: limits shared across instances' : 'limits kept in Redis',
    );
    state = 'up';
  });
  return redis;
}
