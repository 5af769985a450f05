import { describe, expect, it } from '@jest/globals';
import { TokenBuckets } from './token-bucket.ts';

describe('TokenBuckets', () => {
  it('allows a burst, then refuses with the time until the next token', () => {
    const buckets = new TokenBuckets({ burst: 3, perSecond: 0.5 });
    expect(buckets.take('a', 0)).toEqual({ allowed: true, remaining: 2 });
    expect(buckets.take('a', 0)).toEqual({ allowed: true, remaining: 1 });
    expect(buckets.take('a', 0)).toEqual({ allowed: true, remaining: 0 });
    expect(buckets.take('a', 0)).toEqual({ allowed: false, retryAfterSeconds: 2 });
  });

  it('refills at the sustained rate, never above the burst', () => {
    const buckets = new TokenBuckets({ burst: 2, perSecond: 1 });
    buckets.take('a', 0);
    buckets.take('a', 0);
    expect(buckets.take('a', 500).allowed).toBe(false);
    expect(buckets.take('a', 1000)).toEqual({ allowed: true, remaining: 0 });
    expect(buckets.take('a', 60_000)).toEqual({ allowed: true, remaining: 1 });
  });

  it('keeps clients apart', () => {
    const buckets = new TokenBuckets({ burst: 1, perSecond: 1 });
    expect(buckets.take('user:1', 0).allowed).toBe(true);
    expect(buckets.take('user:1', 0).allowed).toBe(false);
    expect(buckets.take('ip:10.0.0.1', 0).allowed).toBe(true);
  });

  it('rounds the wait up to whole seconds, at least 1', () => {
    const buckets = new TokenBuckets({ burst: 1, perSecond: 10 });
    buckets.take('a', 0);
    expect(buckets.take('a', 0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('a refused request does not push the next token further away', () => {
    const buckets = new TokenBuckets({ burst: 1, perSecond: 1 });
    buckets.take('a', 0);
    for (let t = 0; t < 1000; t += 100) expect(buckets.take('a', t).allowed).toBe(false);
    expect(buckets.take('a', 1000).allowed).toBe(true);
  });

  it('forgets full buckets on sweep and bounds the number of clients', () => {
    const buckets = new TokenBuckets({ burst: 2, perSecond: 1 }, 3);
    for (const key of ['a', 'b', 'c', 'd']) buckets.take(key, 0);
    expect(buckets.size).toBe(3);
    buckets.take('b', 500);
    buckets.sweep(1200);
    expect(buckets.size).toBe(1);
  });

  it('drops the least recently seen client when full, never the active ones', () => {
    const buckets = new TokenBuckets({ burst: 1, perSecond: 0.001 }, 2);
    buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('a', 1); // refused, but seen: b is now the least recent
    buckets.take('c', 2);
    expect(buckets.size).toBe(2);
    expect(buckets.take('a', 3).allowed).toBe(false);
    expect(buckets.take('b', 3).allowed).toBe(true);
  });

  it('refuses nonsense settings', () => {
    expect(() => new TokenBuckets({ burst: 0, perSecond: 1 })).toThrow(RangeError);
    expect(() => new TokenBuckets({ burst: 1, perSecond: 0 })).toThrow(RangeError);
  });
});
