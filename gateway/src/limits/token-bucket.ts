// Token buckets, one per client: a bucket holds up to `burst` tokens, refills at
// `perSecond`, and each request takes one. Time is passed in, so the arithmetic is testable
// without clocks.

export interface TokenBucketOptions {
  /** The most requests a client may make at once after being idle. */
  readonly burst: number;
  /** Tokens added per second, the sustained rate. */
  readonly perSecond: number;
}

export type TakeResult =
  | { readonly allowed: true; readonly remaining: number }
  | {
      readonly allowed: false;
      /** Whole seconds until a token is available. */ readonly retryAfterSeconds: number;
    };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBuckets {
  readonly #options: TokenBucketOptions;
  readonly #maxClients: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions, maxClients = 100_000) {
    if (!(options.burst >= 1) || !(options.perSecond > 0)) {
      throw new RangeError('a token bucket needs burst >= 1 and perSecond > 0');
    }
    this.#options = options;
    this.#maxClients = maxClients;
  }

  /** Takes one token from `key`'s bucket at time `nowMs`. */
  take(key: string, nowMs: number): TakeResult {
    const { burst, perSecond } = this.#options;
    const bucket = this.#buckets.get(key);
    let tokens: number;
    if (bucket) {
      const elapsed = Math.max(0, nowMs - bucket.updatedAt) / 1000;
      tokens = Math.min(burst, bucket.tokens + elapsed * perSecond);
      // Re-insert so the map's order is least recently used first (see #evict).
      this.#buckets.delete(key);
    } else {
      tokens = burst;
    }
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, updatedAt: nowMs });
      this.#evict();
      return { allowed: true, remaining: Math.floor(tokens - 1) };
    }
    // Refused: keep the bucket as it was, so the refill is computed from its last change
    // (repeated small refills would add up rounding errors).
    if (bucket) this.#buckets.set(key, bucket);
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
  }

  /** Forgets buckets that have refilled completely: they hold no information. */
  sweep(nowMs: number): void {
    const { burst, perSecond } = this.#options;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((nowMs - bucket.updatedAt) / 1000) * perSecond >= burst) {
        this.#buckets.delete(key);
      }
    }
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Bounds memory under a flood of distinct clients by dropping the least recently seen. */
  #evict(): void {
    while (this.#buckets.size > this.#maxClients) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest === undefined) return;
      this.#buckets.delete(oldest);
    }
  }
}
