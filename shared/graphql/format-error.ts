// The one place where errors become what a client sees. Known codes pass with their message;
// everything else is logged with its cause and replaced by a masked INTERNAL_SERVER_ERROR, so no
// stack trace, SQL or host name reaches a client.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { AppError, CLIENT_ERROR_CODES, ErrorCode, ServiceUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';

// Apollo Server's own request-level codes, renamed to the contract's vocabulary.
const APOLLO_CODE_MAP: Readonly<Record<string, ErrorCode>> = {
  GRAPHQL_PARSE_FAILED: ErrorCode.BAD_USER_INPUT,
  GRAPHQL_VALIDATION_FAILED: ErrorCode.BAD_USER_INPUT,
  BAD_REQUEST: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.BAD_USER_INPUT,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_USER_INPUT,
};

/**
 * Codes of a protocol rather than of the contract, kept as they are: an automatic-persisted-
 * query client sends the full query again only on PERSISTED_QUERY_NOT_FOUND.
 */

export interface ErrorFormatterOptions {
  /**
   * Recognises errors that mean a dependency of this process cannot be reached just now (a
   * subgraph's own database): they answer SERVICE_UNAVAILABLE instead of a masked internal
   * error. Only for the process that owns the dependency: at the gateway the same refused
   * connection means a subgraph is down, which is another answer.
   */
  readonly isUnavailable?: (error: unknown) => boolean;
}

export function createErrorFormatter(logger: Logger, options: ErrorFormatterOptions = {}) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const cause = rootCause(unwrapResolverError(error));
    // Not a bug: the client may retry (the cause is logged at warn, never sent).
    const unavailable = !(cause instanceof AppError) && options.isUnavailable?.(cause) === true;
    if (unavailable) logger.warn({ err: cause, path: formatted.path }, 'dependency unavailable');
    const original = unavailable ? new ServiceUnavailableError() : cause;
    if (original instanceof AppError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...original.details, code: original.code },
      };
    }
    const rawCode = formatted.extensions?.code;
    const code = typeof rawCode === 'string' ? (APOLLO_CODE_MAP[rawCode] ?? rawCode) : undefined;
    if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR && CLIENT_ERROR_CODES.has(code)) {
      const { stacktrace: _stack, exception: _exception, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: { ...extensions, code } };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error while resolving a request');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError && current.originalError !== current) {
    current = current.originalError;
  }
  return current;
}

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  RATE_LIMITED: 429,
  QUERY_TOO_COMPLEX: 400,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * For failures before execution (context creation, request limits): Apollo Server answers
 * them with the HTTP status in `extensions.http`, which it strips from the response.
 */
export function toRequestError(error: AppError): GraphQLError {
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: { ...error.details, code: error.code, http: { status: HTTP_STATUS[error.code] ?? 500 } },
  });
}
