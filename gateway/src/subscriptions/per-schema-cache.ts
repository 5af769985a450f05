// What the gateway derives once from a text against the supergraph's schema (a subscription
// compiled, a query parsed and validated), kept per schema: a new supergraph derives anew, and
// the old schema's entries go with it. Bounded by the characters of the texts kept, since the
// texts come from clients (or are written from what they sent).
import type { GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';

export class PerSchemaTextCache<V extends object> {
  readonly #maxChars: number;
  readonly #bySchema = new WeakMap<GraphQLSchema, LRUCache<string, V>>();

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** The value kept for `text` under `schema`, or `make()`'s, kept for next time (unless it throws). */
  get(schema: GraphQLSchema, text: string, make: () => V): V {
    let cache = this.#bySchema.get(schema);
    if (!cache) {
      cache = new LRUCache<string, V>({
        maxSize: this.#maxChars,
        sizeCalculation: (_value, key) => Math.max(1, key.length),
      });
      this.#bySchema.set(schema, cache);
    }
    let value = cache.get(text);
    if (value === undefined) {
      value = make();
      cache.set(text, value);
    }
    return value;
  }
}
