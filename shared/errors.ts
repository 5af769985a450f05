// Expected failures as typed errors. Domain code throws these; the GraphQL layer maps each
// code to `extensions.code` in one place (graphql/format-error.ts). Anything else is a bug:
// it is logged with its cause and masked for the client.

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The gateway got no answer from a subgraph (`service` names it); the rest of the data stands. */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** The service cannot reach its own database or NATS just now: retry later. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const PUBLIC_ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * The automatic persisted query protocol's answer to a hash the gateway does not hold yet: APQ
 * clients send the full query on this code, so it reaches them unchanged.
 */
export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';

/** Every code a client may see in `extensions.code` (API.md's Errors, and the APQ protocol's). */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  ...PUBLIC_ERROR_CODES,
  PERSISTED_QUERY_NOT_FOUND,
]);

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Extra, client-safe details (e.g. `field` for invalid input). */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export class BadUserInputError extends AppError {
  constructor(field: string, message: string) {
    super(ErrorCode.BAD_USER_INPUT, message, { field });
  }
}
export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super(ErrorCode.NOT_FOUND, `${what} ${id} was not found`, { id });
  }
}
export class ConflictError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.CONFLICT, message, details);
  }
}
export class UnauthenticatedError extends AppError {
  constructor(message = 'You must be signed in') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this') {
    super(ErrorCode.FORBIDDEN, message);
  }
}
export class ServiceUnavailableError extends AppError {
  constructor(message = 'The service is temporarily unavailable; try again shortly', options?: ErrorOptions) {
    super(ErrorCode.SERVICE_UNAVAILABLE, message, {}, options);
  }
}
