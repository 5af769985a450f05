// Where the gateway's limits keep their state, chosen once at start-up: with REDIS_URL, the
// request buckets and the login throttle's states live in Redis, so every gateway instance
// enforces one limit per client; without it, each instance keeps its own in memory.
//
// When Redis cannot answer (down, unreachable, too slow), each decision is taken from the
// instance's own memory instead, as without REDIS_URL, and counted
// (gateway_limits_fallbacks_total) with a warning in the log. Refusing every request would turn
// a Redis outage into a gateway outage; letting everything through would lift the login
// throttle for an attacker who can make Redis slow. Per-instance limits are the design's
// known, bounded degradation: N instances allow up to N times the limit until Redis is back.
import type { Redis } from 'ioredis';
import type { Logger } from '../../../shared/logger.ts';
import { FallbackThrottleStore } from './fallback-throttle-store.ts';
import {
  createLoginThrottle,
  createMemoryThrottleStore,
  type LoginThrottle,
  type LoginThrottleOptions,
} from './login-throttle.ts';
import { RedisThrottleStore } from './login-throttle-redis-store.ts';
import { createRateLimiter, type RateLimiter, type RateLimitOptions } from './rate-limit.ts';
import { connectLimitsRedis } from './redis-connection.ts';
import { createRedisTokenBuckets } from './redis-token-bucket.ts';

export interface LimitsStoreConfig {
  /** redis:// or rediss://; undefined: each instance keeps its limits in memory. */
  readonly redisUrl: string | undefined;
  /** Starts every key this gateway writes in Redis. */
  readonly keyPrefix: string;
}

export type LimiterName = 'requests' | 'logins';

export interface LimitsOptions {
  readonly rateLimit: RateLimitOptions;
  readonly loginThrottle: LoginThrottleOptions;
  readonly store: LimitsStoreConfig;
}

export interface LimitsHooks {
  /** A request or login refused by its limit. */
  readonly onLimited: () => void;
  /** A decision taken from memory because Redis could not answer. */
  readonly onFallback: (limiter: LimiterName) => void;
}

export interface Limits {
  readonly rateLimiter: RateLimiter;
  readonly loginThrottle: LoginThrottle;
  /** True when the limits are shared through Redis (REDIS_URL). */
  readonly shared: boolean;
  /**
   * Resolves true once Redis is connected and ready (at once without it), or false after
   * `timeoutMs` (default: no limit). Decisions before that are taken from memory; a gateway's
   * start waits for it, bounded (server.ts).
   */
  connected(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** At most one warning this often while Redis keeps failing, with the count in between. */
const WARNING_INTERVAL_MS = 30_000;

export function createLimits(options: LimitsOptions, logger: Logger, hooks: LimitsHooks): Limits {
  const { rateLimit, loginThrottle, store } = options;
  if (!store.redisUrl || (!rateLimit.enabled && !loginThrottle.enabled)) {
    const rateLimiter = createRateLimiter(rateLimit, hooks.onLimited);
    const throttle = createLoginThrottle(loginThrottle);
    return {
      rateLimiter,
      loginThrottle: throttle,
      shared: false,
      connected: async () => true,
      close: async () => {
        rateLimiter.stop();
        await throttle.close();
      },
    };
  }

  const redis = connectLimitsRedis(store.redisUrl, store.keyPrefix, logger);
  const warn = fallbackWarning(logger);
  const fallback = (limiter: LimiterName) => (err: unknown) => {
    hooks.onFallback(limiter);
    warn(limiter, err);
  };
  const rateLimiter = createRateLimiter(rateLimit, hooks.onLimited, Date.now, {
    take: createRedisTokenBuckets(redis, rateLimit),
    onFallback: fallback('requests'),
  });
  const throttle = createLoginThrottle(
    loginThrottle,
    Date.now,
    new FallbackThrottleStore(
      new RedisThrottleStore(redis),
      createMemoryThrottleStore(loginThrottle),
      fallback('logins'),
    ),
  );
  return {
    rateLimiter,
    loginThrottle: throttle,
    shared: true,
    connected: (timeoutMs = Infinity) => readyWithin(redis, timeoutMs),
    close: async () => {
      rateLimiter.stop();
      await throttle.close();
      // Requests have drained by now; nothing is left to wait for.
      redis.disconnect();
    },
  };
}

/** True once the client is ready; false after `timeoutMs`. Connection errors do not end the wait. */
function readyWithin(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          redis.off('ready', onReady);
          resolve(false);
        }, timeoutMs)
      : undefined;
    redis.once('ready', onReady);
  });
}

function fallbackWarning(logger: Logger): (limiter: LimiterName, err: unknown) => void {
  let warnedAt = -Infinity;
  let since = 0;
  return (limiter, err) => {
    since++;
    const now = Date.now();
    if (now - warnedAt < WARNING_INTERVAL_MS) return;
    logger.warn(
      { err, limiter, fallbacks: since },
      'Redis (REDIS_URL) cannot answer: limits are enforced by each gateway instance from its own memory',
    );
    warnedAt = now;
    since = 0;
  };
}
