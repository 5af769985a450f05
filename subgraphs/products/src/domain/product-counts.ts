// How many products a filter matches (a list's totalCount), shared for a few seconds by every
// request of this process that asks for the same filter. Counting reads every matching product
// (PostgreSQL keeps no row counts), so the catalogue's first page, which every visitor asks for,
// would otherwise scan the catalogue per visit, and one request could repeat a count under 30
// aliases. A write through this process forgets every count at once, so an administrator sees
// their change; another instance's change shows within the age. lru-cache bounds the filters
// kept and makes concurrent asks for one filter share one statement.
import { LRUCache } from 'lru-cache';
import type { ProductQuery } from './catalogue.ts';

export interface ProductCountsOptions {
  /** How long a count is shared; 0 counts every time. */
  readonly maxAgeMs: number;
  /** Filters whose counts are kept at once, the least recently asked dropped first. */
  readonly maxFilters: number;
  /** Milliseconds, for the age (performance.now unless a test gives its own clock). */
  readonly clock?: { now(): number };
}

export const PRODUCT_COUNTS: ProductCountsOptions = { maxAgeMs: 5_000, maxFilters: 1_000 };

export class ProductCounts {
  readonly #count: (query: ProductQuery) => Promise<number>;
  readonly #keyOf: (query: ProductQuery) => string;
  readonly #cache: LRUCache<string, number, ProductQuery> | undefined;
  /**
   * Part of every key, moved on by forget(): a count begun before a write is never handed out
   * after it (clearing the cache instead would abort the counts in flight under their askers).
   */
  #generation = 0;

  /** `keyOf`: equal for queries that match the same products (their filter, not their page). */
  constructor(
    count: (query: ProductQuery) => Promise<number>,
    keyOf: (query: ProductQuery) => string,
    options: ProductCountsOptions = PRODUCT_COUNTS,
  ) {
    this.#count = count;
    this.#keyOf = keyOf;
    this.#cache =
      options.maxAgeMs > 0
        ? new LRUCache<string, number, ProductQuery>({
            max: options.maxFilters,
            ttl: options.maxAgeMs,
            // Read the clock at every ask rather than once a millisecond (the default's timer).
            ttlResolution: 0,
            ...(options.clock && { perf: options.clock }),
            fetchMethod: (_key, _stale, { context }) => this.#count(context),
          })
        : undefined;
  }

  async of(query: ProductQuery): Promise<number> {
    if (!this.#cache) return this.#count(query);
    const count = await this.#cache.fetch(`${this.#generation}\n${this.#keyOf(query)}`, {
      context: query,
    });
    // lru-cache's type allows a fetch without a value; this fetchMethod always gives one.
    return count ?? this.#count(query);
  }

  /** After a write: every count may have changed. The old ones age out of the cache. */
  forget(): void {
    this.#generation += 1;
  }
}
