// The query limits read from the environment: the same variables for the gateway and the
// subgraphs, which allow more than the gateway (see subgraphQueryLimits).
import { readInt } from '../../config.ts';
import type { QueryLimits } from './limits.ts';

type Env = Record<string, string | undefined>;

/** The request body limit of shared/http/apollo-handler.ts: a subgraph's query is bounded by it. */
const SUBGRAPH_MAX_QUERY_BYTES = 1024 * 1024;

export function readQueryLimits(env: Env): QueryLimits {
  const maxDepth = readInt(env, 'MAX_QUERY_DEPTH', 12, 1, 1000);
  return {
    maxDepth,
    maxAliases: readInt(env, 'MAX_QUERY_ALIASES', 30, 0, 100_000),
    maxCost: readInt(env, 'MAX_QUERY_COST', 5000, 1),
    maxQueryBytes: readInt(env, 'MAX_QUERY_BYTES', 20_000, 100, 1024 * 1024),
    defaultListSize: readInt(env, 'DEFAULT_LIST_SIZE', 20, 1, 10_000),
    maxTokens: readInt(env, 'MAX_QUERY_TOKENS', 5000, 10, 1_000_000),
    maxDirectives: readInt(env, 'MAX_QUERY_DIRECTIVES', 50, 0, 100_000),
    maxNesting: nestingFor(maxDepth),
    maxFieldRepeats: readInt(env, 'MAX_QUERY_FIELD_REPEATS', 20, 1, 10_000),
  };
}

/**
 * Room for a field level, an inline fragment and an argument's input object per level of
 * depth; never so deep that graphql-js's recursive parser and validator could overflow the
 * stack (thousands of levels do), never so shallow that it refuses a query within the depth.
 */
function nestingFor(maxDepth: number): number {
  return Math.min(500, Math.max(64, 4 * maxDepth));
}

/**
 * A subgraph only runs what the gateway plans from a client's operation, which the gateway
 * has already bounded; the plan adds to it, though: an `_entities` level, key fields and
 * `__typename` on every entity, a client's fragments expanded at every spread. The subgraph
 * limits are that bound with a generous margin, so legitimate plans pass and a client that
 * reaches a subgraph directly still cannot freeze it.
 */
export function subgraphQueryLimits(gateway: QueryLimits): QueryLimits {
  const maxDepth = gateway.maxDepth + 4;
  return {
    maxDepth,
    maxAliases: gateway.maxAliases * 4 + 100,
    maxCost: gateway.maxCost * 4,
    maxQueryBytes: SUBGRAPH_MAX_QUERY_BYTES,
    defaultListSize: gateway.defaultListSize,
    maxTokens: gateway.maxTokens * 8,
    maxDirectives: gateway.maxDirectives * 8,
    maxNesting: nestingFor(maxDepth),
    maxFieldRepeats: gateway.maxFieldRepeats * 8,
  };
}
