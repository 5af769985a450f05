// Subscriptions compiled once per text: parsing, validating and rewriting a subscription was the
// largest part of the gateway's own CPU in opening one, and clients send the same few texts
// (only the order id in the variables changes). internal-execute.ts keeps the same kind of cache
// for the queries the engine then runs; this is the same idea for the subscription itself.
import type { GraphQLSchema } from 'graphql';
import type { QueryLimits } from '../limits/query-limits.ts';
import {
  bindSubscription,
  compileSubscription,
  type CompiledSubscription,
  type PreparedSubscription,
  type SubscriptionRequest,
} from './operation.ts';
import { PerSchemaTextCache } from './per-schema-cache.ts';

/**
 * Characters of subscription text kept, at most, per schema: texts are bounded by
 * MAX_QUERY_BYTES, so this bounds the cache whatever clients send (each entry also holds its
 * parsed document and two rewritten queries, a small multiple of the text).
 */
const CACHED_TEXT_CHARS = 2 * 1024 * 1024;

export class CompiledSubscriptions {
  readonly #limits: QueryLimits;
  readonly #compiled = new PerSchemaTextCache<CompiledSubscription>(CACHED_TEXT_CHARS);

  constructor(limits: QueryLimits) {
    this.#limits = limits;
  }

  /**
   * prepareSubscription, with the text's part taken from the cache. Only subscriptions that
   * compile are kept: a refused text is compiled (and refused) again each time, so junk cannot
   * push out what real clients send.
   */
  prepare(schema: GraphQLSchema, request: SubscriptionRequest): PreparedSubscription {
    const key = cacheKey(request);
    const compile = () => compileSubscription(schema, request, this.#limits);
    const compiled = key === undefined ? compile() : this.#compiled.get(schema, key, compile);
    return bindSubscription(schema, compiled, request, this.#limits);
  }
}

/** The operation name, length first (no name can then pass for part of another text), and the text. */
function cacheKey({ query, operationName }: SubscriptionRequest): string | undefined {
  if (typeof query !== 'string') return undefined;
  if (operationName === undefined || operationName === null) return `-\n${query}`;
  if (typeof operationName !== 'string') return undefined;
  return `${operationName.length}:${operationName}\n${query}`;
}
