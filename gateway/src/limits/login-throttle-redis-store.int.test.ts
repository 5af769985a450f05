// The login throttle over Redis: the same behaviour as in memory (the shared contract), and
// one series of guesses however they are spread over gateway instances, racing for real.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from '../../../test/support/redis.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { describeLoginThrottle, lockingOptions } from './login-throttle.contract.ts';
import { RedisThrottleStore } from './login-throttle-redis-store.ts';

const prefix = testKeyPrefix();
let redis: Redis;
let other: Redis;

beforeAll(() => {
  // Two connections: two gateway instances.
  redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix });
  other = new Redis(TEST_REDIS_URL, { keyPrefix: prefix });
});

afterAll(async () => {
  redis.disconnect();
  other.disconnect();
  await deleteKeys(prefix);
});

let nextStore = 0;
// Each test a namespace of its own under the run's prefix, as each gets a fresh memory store.
describeLoginThrottle('Redis', () => new RedisThrottleStore(redis, `login${nextStore++}:`));

const OPTIONS = lockingOptions(3);

describe('RedisThrottleStore shared by two gateway instances', () => {
  const twoThrottles = (namespace: string) => [
    createLoginThrottle(OPTIONS, Date.now, new RedisThrottleStore(redis, namespace)),
    createLoginThrottle(OPTIONS, Date.now, new RedisThrottleStore(other, namespace)),
  ];

  it('lets 40 simultaneous guesses at one account through both instances no more than the free failures', async () => {
    const throttles = twoThrottles('race:');
    const decisions = await Promise.all(
      Array.from({ length: 40 }, (_, i) => throttles[i % 2]!.beginLogin('ada@example.com', '10.0.0.1')),
    );
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(OPTIONS.account.freeFailures);
    for (const d of allowed) await d.attempt.end('failed');
    // Locked now, on both instances, with the retry time of the first delay.
    for (const throttle of throttles) {
      expect(await throttle.beginLogin('ada@example.com', '10.0.0.1')).toEqual({
        allowed: false,
        retryAfterSeconds: 60,
      });
    }
  });

  it('keeps one count when a burst at one account makes the instances beat each other for many rounds', async () => {
    // Four instances (four connections), 50 guesses each at once: every guess writes the
    // account's and the address's state, so updates lose round after round to the other
    // instances. None may give up (that would leave its instance counting alone).
    const more = [1, 2].map(() => new Redis(TEST_REDIS_URL, { keyPrefix: prefix }));
    try {
      const throttles = [redis, other, ...more].map((connection) =>
        createLoginThrottle(OPTIONS, Date.now, new RedisThrottleStore(connection, 'burst:')),
      );
      const decisions = await Promise.all(
        Array.from({ length: 200 }, (_, i) => throttles[i % 4]!.beginLogin('bob@example.com', '10.0.0.3')),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(OPTIONS.account.freeFailures);
    } finally {
      for (const connection of more) connection.disconnect();
    }
  });

  it('counts registrations from one address over both instances against one budget', async () => {
    const throttles = twoThrottles('register:');
    const decisions = await Promise.all(
      Array.from({ length: 12 }, (_, i) => throttles[i % 2]!.takeRegistration('10.0.0.2')),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(OPTIONS.register.burst);
  });

  it('replaces a value that is not a state instead of failing', async () => {
    const store = new RedisThrottleStore(redis, 'garbage:');
    await redis.set('garbage:k', 'not json');
    const seen = await store.update('k', 0, (state) => ({ state: undefined, result: state }));
    expect(seen).toBeUndefined();
    expect(await redis.exists('garbage:k')).toBe(0);
  });
});
