// What a client sees of an error. The shared formatter keeps the contract's codes and masks
// everything else; on top of it the gateway strips what @apollo/gateway adds to errors from
// subgraphs: `serviceName` (the internal topology) and, for a failed HTTP call, `response`
// (the subgraph's internal URL, status and body). A subgraph the gateway could not get an
// answer from is SUBGRAPH_UNAVAILABLE naming it (subgraphs/unavailable.ts), not a masked error.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createErrorFormatter } from '../../shared/graphql/format-error.ts';
import type { Logger } from '../../shared/logger.ts';
import { SubgraphUnavailableError } from './subgraphs/unavailable.ts';

const INTERNAL_EXTENSIONS = new Set([
  'serviceName',
  'response',
  'exception',
  'stacktrace',
  'http',
  'query',
  'variables',
]);

export function createGatewayErrorFormatter(logger: Logger) {
  const format = createErrorFormatter(logger);
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const unavailable = findUnavailable(error);
    if (unavailable) {
      return {
        message: unavailable.message,
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: unavailable.extensions.code, service: unavailable.service },
      };
    }
    const result = format(formatted, error);
    return { ...result, extensions: clientExtensions(result.extensions ?? {}) };
  };
}

/** Keeps scalar details (code, field, id, limit...) and drops internals and nested objects. */
export function clientExtensions(extensions: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extensions)) {
    if (INTERNAL_EXTENSIONS.has(key)) continue;
    const scalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
    if (scalar(value) || (Array.isArray(value) && value.every(scalar))) kept[key] = value;
  }
  return kept;
}

/** The SubgraphUnavailableError behind `error`, however deep @apollo/gateway wrapped it. */
function findUnavailable(error: unknown): SubgraphUnavailableError | undefined {
  for (let current = error; current instanceof GraphQLError; current = current.originalError) {
    if (current instanceof SubgraphUnavailableError) return current;
    if (current.originalError === current) break;
  }
  return undefined;
}
