// The rate limit's token buckets in Redis, shared by every gateway instance that uses it:
// rate-limiter-flexible's RateLimiterRedis (one atomic script per request, EVALSHA through
// ioredis, its readiness check) with the counting script replaced by a token bucket.
//
// Why a script of our own: the library counts points in fixed windows, where a client gets the
// whole burst back at once at each window's end and is told to wait until then. The limit
// clients know is a token bucket (TokenBuckets in token-bucket.ts: up to `burst` at once, then
// `perSecond`, Retry-After the time to the next token); the library's customIncrTtlLuaScript
// hook keeps that exactly, on Redis's clock, so gateways' clocks need not agree.
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { TakeResult, TokenBucketOptions } from './token-bucket.ts';

/**
 * KEYS[1]: the client's bucket, a hash of tokens (`t`) and when they were counted (`u`, ms).
 * ARGV[1]: tokens to take. Returns what RateLimiterRedis reads, {consumed points, ms}: on
 * success the points used out of `burst` and the time until the bucket is full again (when the
 * key expires: a full bucket holds no information); on refusal more than `burst`, and the time
 * until a token is back.
 */
function tokenBucketScript({ burst, perSecond }: TokenBucketOptions): string {
  return `
local burst = ${burst}
local per_ms = ${perSecond / 1000}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local take = tonumber(ARGV[1])
local tokens = burst
local saved = redis.call('HMGET', KEYS[1], 't', 'u')
if saved[1] then
  tokens = math.min(burst, tonumber(saved[1]) + math.max(0, now - tonumber(saved[2])) * per_ms)
end
if tokens < take then
  return {burst + take, math.ceil((take - tokens) / per_ms)}
end
tokens = tokens - take
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_ms))
return {burst - math.floor(tokens), math.ceil((burst - tokens) / per_ms)}
`;
}

/** Takes one token from `key`'s shared bucket; rejects when Redis cannot answer. */
export type SharedBuckets = (key: string) => Promise<TakeResult>;

export function createRedisTokenBuckets(redis: Redis, options: TokenBucketOptions): SharedBuckets {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: 'rate',
    points: options.burst,
    // The library runs the script only for a duration of a second or more; the script itself
    // reads the rate from `options`, and sets each key's expiry.
    duration: Math.max(1, Math.ceil(options.burst / options.perSecond)),
    customIncrTtlLuaScript: tokenBucketScript(options),
    // Refuse at once while disconnected rather than queue: the caller falls back to memory.
    rejectIfRedisNotReady: true,
  });
  return async (key) => {
    try {
      const taken = await limiter.consume(key, 1);
      return { allowed: true, remaining: taken.remainingPoints };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
    }
  };
}
