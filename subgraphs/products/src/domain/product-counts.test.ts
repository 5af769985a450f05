import { describe, expect, it } from '@jest/globals';
import type { ProductQuery } from './catalogue.ts';
import { ProductCounts } from './product-counts.ts';

const query = (category: string): ProductQuery => ({
  category,
  tsquery: null,
  minPriceCents: null,
  maxPriceCents: null,
  includeInactive: false,
  first: 20,
  after: null,
});
const keyOf = (q: ProductQuery) => String(q.category);

/** A count function that answers when told to, and records every count it was asked for. */
function counter() {
  const asked: string[] = [];
  const pending: ((n: number) => void)[] = [];
  let value = 1;
  return {
    asked,
    set: (n: number) => (value = n),
    answerAll: () => pending.splice(0).forEach((answer) => answer(value)),
    count: (q: ProductQuery) => {
      asked.push(String(q.category));
      return new Promise<number>((resolve) => pending.push(resolve));
    },
  };
}

describe('ProductCounts', () => {
  it('counts one filter once for concurrent asks, and each filter on its own', async () => {
    const c = counter();
    const counts = new ProductCounts(c.count, keyOf, { maxAgeMs: 5000, maxFilters: 10 });
    const asks = [counts.of(query('a')), counts.of(query('a')), counts.of(query('b'))];
    c.answerAll();
    expect(await Promise.all(asks)).toEqual([1, 1, 1]);
    expect(c.asked).toEqual(['a', 'b']);
  });

  it('shares a count until it is maxAgeMs old, then counts again', async () => {
    const c = counter();
    let now = 1_000;
    const counts = new ProductCounts(c.count, keyOf, {
      maxAgeMs: 5000,
      maxFilters: 10,
      clock: { now: () => now },
    });
    const first = counts.of(query('a'));
    c.answerAll();
    expect(await first).toBe(1);
    c.set(2);
    now += 4_999;
    expect(await counts.of(query('a'))).toBe(1);
    now += 2;
    const later = counts.of(query('a'));
    c.answerAll();
    expect(await later).toBe(2);
    expect(c.asked).toEqual(['a', 'a']);
  });

  it('after forget, counts afresh, and a count begun before it is not handed to later asks', async () => {
    const c = counter();
    const counts = new ProductCounts(c.count, keyOf, { maxAgeMs: 5000, maxFilters: 10 });
    const before = counts.of(query('a'));
    counts.forget();
    const after = counts.of(query('a'));
    c.set(7);
    c.answerAll();
    expect([await before, await after]).toEqual([7, 7]);
    expect(c.asked).toEqual(['a', 'a']);
    c.set(8);
    const next = counts.of(query('a'));
    c.answerAll();
    expect(await next).toBe(7);
    counts.forget();
    const fresh = counts.of(query('a'));
    c.answerAll();
    expect(await fresh).toBe(8);
  });

  it('counts every ask when maxAgeMs is 0', async () => {
    const c = counter();
    const counts = new ProductCounts(c.count, keyOf, { maxAgeMs: 0, maxFilters: 10 });
    const asks = [counts.of(query('a')), counts.of(query('a'))];
    c.answerAll();
    await Promise.all(asks);
    expect(c.asked).toEqual(['a', 'a']);
  });
});
