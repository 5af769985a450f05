// The error of a subgraph the gateway could not get an answer from: unreachable, too slow,
// saying it is unavailable (502/503/504), or its breaker open. @apollo/gateway records a failed
// fetch as an error of the whole response and leaves the fields that fetch would have filled
// unset; with those fields nullable, only they become null. This error is what the client sees
// for it: `SUBGRAPH_UNAVAILABLE` with the subgraph's name in `service` (see ../errors.ts), never
// the underlying network error, which names internal hosts and ports.
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../shared/errors.ts';

export const SUBGRAPH_UNAVAILABLE = ErrorCode.SUBGRAPH_UNAVAILABLE;

export type UnavailableReason = 'unreachable' | 'timeout' | 'unavailable' | 'breaker-open';

const DESCRIPTIONS: Readonly<Record<UnavailableReason, string>> = {
  unreachable: 'cannot be reached',
  timeout: 'did not answer in time',
  unavailable: 'says it is unavailable',
  'breaker-open': 'is failing; calls to it are paused',
};

export class SubgraphUnavailableError extends GraphQLError {
  readonly service: string;
  readonly reason: UnavailableReason;
  /** The network error or answer behind it, for the log (never shown to the client). */
  readonly failure: unknown;
  constructor(service: string, reason: UnavailableReason, failure?: unknown) {
    super(`The ${service} service ${DESCRIPTIONS[reason]}; the fields it provides are null`, {
      extensions: { code: SUBGRAPH_UNAVAILABLE, service },
    });
    this.name = 'SubgraphUnavailableError';
    this.service = service;
    this.reason = reason;
    this.failure = failure;
  }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
/** undici's fetch: "fetch failed" (no connection), "terminated" (it broke mid-body). */
const FETCH_FAILURES = new Set(['fetch failed', 'terminated']);
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

/**
 * Why a call to a subgraph failed for want of the subgraph, or undefined when the subgraph did
 * answer (an HTTP 400 or 500, a body that is not JSON): those are not the subgraph being down.
 */
export function unavailabilityOf(error: unknown): UnavailableReason | undefined {
  if (error instanceof SubgraphUnavailableError) return error.reason;
  if (error instanceof GraphQLError) {
    // RemoteGraphQLDataSource's error for a non-2xx answer carries the status.
    const status = (error.extensions.response as { status?: unknown } | undefined)?.status;
    return typeof status === 'number' && UNAVAILABLE_STATUSES.has(status) ? 'unavailable' : undefined;
  }
  if (typeof error !== 'object' || error === null) return undefined;
  // AbortSignal.timeout (the fetcher's time limit per call): a DOMException, by name.
  const name = (error as { name?: unknown }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  const code = errorCode(error) ?? errorCode((error as { cause?: unknown }).cause);
  if (code && TIMEOUT_CODES.has(code)) return 'timeout';
  if (code && UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (error instanceof TypeError && FETCH_FAILURES.has(error.message)) return 'unreachable';
  return undefined;
}

/**
 * Errors of a call that never reached the subgraph: no connection could be opened (refused,
 * no route, no such host, the connect time limit). Such a call did nothing there, so it may go
 * to another instance whatever it is, a mutation included.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True when the call failed before anything reached the subgraph (see NOT_SENT_CODES). */
export function sentNothing(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = errorCode(error) ?? errorCode((error as { cause?: unknown }).cause);
  return code !== undefined && NOT_SENT_CODES.has(code);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
