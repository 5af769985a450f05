// The gateway's limits with REDIS_URL, against real Redis: two instances enforce one request
// limit with the same token bucket as in memory, and when Redis cannot be reached (nothing
// listens, or the server is killed mid-way) each instance falls back to its own memory at once,
// counting it, and shares again once Redis is back.
import { once } from 'node:events';
import { afterAll, describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { createLogger } from '../../../shared/logger.ts';
import { freePort } from '../../../scripts/lib/ports.ts';
import { deleteKeys, startOwnRedis, TEST_REDIS_URL, testKeyPrefix } from '../../../test/support/redis.ts';
import { createLimits, type LimiterName, type Limits, type LimitsOptions } from './limits-store.ts';
import { lockingOptions } from './login-throttle.contract.ts';
import { createRateLimiter, type RateLimitOptions } from './rate-limit.ts';
import { connectLimitsRedis, REDIS_COMMAND_TIMEOUT_MS } from './redis-connection.ts';
import { createRedisTokenBuckets } from './redis-token-bucket.ts';

const logger = createLogger('limits-test', 'silent');
const prefix = testKeyPrefix();
const opened: Limits[] = [];

afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await deleteKeys(prefix);
});

const RATE: RateLimitOptions = { enabled: true, burst: 5, perSecond: 1 / 60, maxClients: 100 };

function limitsAt(redisUrl: string | undefined, fallbacks: LimiterName[] = []): Limits {
  const options: LimitsOptions = {
    rateLimit: RATE,
    loginThrottle: lockingOptions(2),
    store: { redisUrl, keyPrefix: prefix },
  };
  const limits = createLimits(options, logger, {
    onLimited: () => undefined,
    onFallback: (limiter) => fallbacks.push(limiter),
  });
  opened.push(limits);
  return limits;
}

/** What check() did: passed, or the code and retry time it refused with. */
async function outcome(limits: Pick<Limits, 'rateLimiter'>, key: string) {
  try {
    await limits.rateLimiter.check(key);
    return 'passed';
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    return `${String(err.extensions.code)} ${String(err.extensions.retryAfterSeconds)}s`;
  }
}

async function outcomes(limits: readonly Pick<Limits, 'rateLimiter'>[], key: string, count: number) {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) seen.push(await outcome(limits[i % limits.length]!, key));
  return seen;
}

// Five at once, then one a minute: the sixth waits a minute for its token.
const BURST_THEN_REFUSED = [...Array<string>(RATE.burst).fill('passed'), 'RATE_LIMITED 60s'];

describe('the request rate limit with REDIS_URL', () => {
  it('is one limit over two instances, with the same answers as one instance in memory', async () => {
    const fallbacks: LimiterName[] = [];
    const shared = [limitsAt(TEST_REDIS_URL, fallbacks), limitsAt(TEST_REDIS_URL, fallbacks)];
    await Promise.all(shared.map((l) => l.connected()));
    expect(await outcomes(shared, 'ip:10.0.0.1', RATE.burst + 1)).toEqual(BURST_THEN_REFUSED);
    expect(await outcomes([limitsAt(undefined)], 'ip:10.0.0.1', RATE.burst + 1)).toEqual(BURST_THEN_REFUSED);
    // Another client has a bucket of its own.
    expect(await outcome(shared[1]!, 'ip:10.0.0.2')).toBe('passed');
    expect(fallbacks).toEqual([]);
  });

  it('is one limit per instance without REDIS_URL, as before', async () => {
    const separate = [limitsAt(undefined), limitsAt(undefined)];
    const seen = await outcomes(separate, 'ip:10.0.0.3', 2 * RATE.burst + 1);
    expect(seen.filter((o) => o === 'passed')).toHaveLength(2 * RATE.burst);
  });
});

describe('when Redis cannot be reached', () => {
  it('says within a bound whether Redis is ready: true against a live server, false after the bound against none', async () => {
    expect(await limitsAt(TEST_REDIS_URL).connected(5_000)).toBe(true);
    const started = performance.now();
    // Connection errors come meanwhile: they do not end the wait, the bound does.
    expect(await limitsAt(`redis://127.0.0.1:${await freePort()}`).connected(300)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(await limitsAt(undefined).connected(0)).toBe(true);
  });

  it('decides from memory at once, per instance, and counts each fallback', async () => {
    const fallbacks: LimiterName[] = [];
    const limits = limitsAt(`redis://127.0.0.1:${await freePort()}`, fallbacks);
    const started = performance.now();
    expect(await outcomes([limits], 'ip:10.0.0.4', RATE.burst + 1)).toEqual(BURST_THEN_REFUSED);
    // Refused by the client, not waited out: well under one command timeout for all six.
    expect(performance.now() - started).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS);
    expect(fallbacks).toEqual(Array<LimiterName>(RATE.burst + 1).fill('requests'));

    // The login throttle too: two failures lock the account at this address.
    for (let i = 0; i < 2; i++) {
      const attempt = await limits.loginThrottle.beginLogin('ada@example.com', '10.0.0.4');
      expect(attempt.allowed).toBe(true);
      if (attempt.allowed) await attempt.attempt.end('failed');
    }
    expect(await limits.loginThrottle.beginLogin('ada@example.com', '10.0.0.4')).toEqual({
      allowed: false,
      retryAfterSeconds: 60,
    });
    expect(fallbacks).toContain('logins');
  });

  it('falls back when the server dies mid-way, and shares again once it is back', async () => {
    const own = await startOwnRedis();
    try {
      const fallbacks: string[] = [];
      const redis = connectLimitsRedis(own.url, prefix, logger);
      try {
        await once(redis, 'ready');
        const limiter = createRateLimiter(RATE, () => undefined, Date.now, {
          take: createRedisTokenBuckets(redis, RATE),
          onFallback: () => fallbacks.push('requests'),
        });
        const limits = { rateLimiter: limiter };
        expect(await outcomes([limits], 'user:u1', 3)).toEqual(['passed', 'passed', 'passed']);
        expect(fallbacks).toEqual([]);

        const closed = once(redis, 'close');
        await own.kill();
        await closed;
        // Memory knows nothing of the three taken in Redis: a full burst, then refused.
        expect(await outcomes([limits], 'user:u1', RATE.burst + 1)).toEqual(BURST_THEN_REFUSED);
        expect(fallbacks).toHaveLength(RATE.burst + 1);

        // Back (empty: it kept nothing): the client reconnects and the limit is Redis's again.
        await own.start();
        await once(redis, 'ready');
        expect(await outcomes([limits], 'user:u1', RATE.burst + 1)).toEqual(BURST_THEN_REFUSED);
        expect(fallbacks).toHaveLength(RATE.burst + 1);
        limiter.stop();
      } finally {
        redis.disconnect();
      }
    } finally {
      await own.kill();
    }
  });
});
