// A per-client request rate limit: signed-in clients by user id, anonymous ones by address.
// Without shared buckets each gateway instance keeps its own, so N instances allow up to N
// times the rate to a client spread across all of them; with shared buckets (Redis, see
// redis-token-bucket.ts) they enforce one limit, and an instance that cannot reach them decides
// from its own buckets meanwhile, as it would without them.
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../shared/errors.ts';
import type { SharedBuckets } from './redis-token-bucket.ts';
import { TokenBuckets, type TokenBucketOptions } from './token-bucket.ts';

export interface RateLimitOptions extends TokenBucketOptions {
  readonly enabled: boolean;
  /**
   * Clients with a bucket at most; past it the least recently seen is forgotten (it starts
   * again with a full bucket), so a flood of distinct addresses cannot grow memory.
   */
  readonly maxClients: number;
}

export interface RateLimiter {
  /** Takes a token for `clientKey`; throws RATE_LIMITED (HTTP 429, Retry-After) when none is left. */
  check(clientKey: string): Promise<void>;
  stop(): void;
}

export interface SharedRateLimit {
  readonly take: SharedBuckets;
  /** Called when `take` failed and the instance's own buckets decided instead. */
  readonly onFallback: (err: unknown) => void;
}

const SWEEP_INTERVAL_MS = 60_000;

export function createRateLimiter(
  options: RateLimitOptions,
  onLimited: () => void,
  now: () => number = Date.now,
  shared?: SharedRateLimit,
): RateLimiter {
  if (!options.enabled) return { check: async () => undefined, stop: () => undefined };
  const buckets = new TokenBuckets(options, options.maxClients);
  const sweeper = setInterval(() => buckets.sweep(now()), SWEEP_INTERVAL_MS);
  sweeper.unref();
  const take = async (clientKey: string) => {
    if (shared) {
      try {
        return await shared.take(clientKey);
      } catch (err) {
        shared.onFallback(err);
      }
    }
    return buckets.take(clientKey, now());
  };
  return {
    async check(clientKey) {
      const result = await take(clientKey);
      if (result.allowed) return;
      onLimited();
      throw rateLimitedError(result.retryAfterSeconds);
    },
    stop: () => clearInterval(sweeper),
  };
}

export function rateLimitedError(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many requests; try again in ${retryAfterSeconds} s`, {
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      retryAfterSeconds,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}
