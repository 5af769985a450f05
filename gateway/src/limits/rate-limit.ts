// A per-client request rate limit: signed-in clients by user id, anonymous ones by address.
// Each gateway instance keeps its own buckets, so N instances allow up to N times the rate
// to a client that is spread across all of them.
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../shared/errors.ts';
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
  check(clientKey: string): void;
  stop(): void;
}

const SWEEP_INTERVAL_MS = 60_000;

export function createRateLimiter(
  options: RateLimitOptions,
  onLimited: () => void,
  now: () => number = Date.now,
): RateLimiter {
  if (!options.enabled) return { check: () => undefined, stop: () => undefined };
  const buckets = new TokenBuckets(options, options.maxClients);
  const sweeper = setInterval(() => buckets.sweep(now()), SWEEP_INTERVAL_MS);
  sweeper.unref();
  return {
    check(clientKey) {
      const result = buckets.take(clientKey, now());
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
