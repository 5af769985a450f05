// Who a request is, and whether its rate limit lets it in, decided from its headers alone, so
// that a client past its limit, or with a bad token, costs no body read or parse. GraphQL over
// HTTP (auth/context.ts) and SSE (subscriptions/sse-admission.ts) both admit their clients here;
// the token is verified once and one token of the rate limit spent, per request:
//
//   an invalid or expired token   refused UNAUTHENTICATED (HTTP 401), once it has spent its
//                                 address's limit as an anonymous request does: otherwise any
//                                 malformed token was a way past the limit
//   the rate limit spent          refused RATE_LIMITED (HTTP 429, Retry-After)
//   a signed-in client            limited as its user (`user:<id>`)
//   an anonymous one              limited by its address (`ip:<address>`, an IPv6 one by its /56)
//
// A key set that cannot be fetched is ours, not the client's: thrown as it is (a masked 500).
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { identify, type Identity, type TokenVerifier } from '../../../shared/auth/identity.ts';
import { AppError, ErrorCode } from '../../../shared/errors.ts';
import { toRequestError } from '../../../shared/graphql/format-error.ts';
import { requestMeta } from '../http/request-meta.ts';
import type { RateLimiter } from '../limits/rate-limit.ts';

export interface AdmissionOptions {
  readonly verifyToken: TokenVerifier;
  readonly rateLimiter: RateLimiter;
  readonly trustedProxyHops: number;
}

/**
 * The client's identity (null: anonymous), admitted; a refusal is thrown as the GraphQL error
 * Apollo answers (UNAUTHENTICATED or RATE_LIMITED, with its HTTP status: see `refusalOf`). The
 * identity is recorded on the request's meta, for its log line, even when its limit is spent.
 */
export async function admitClient(req: IncomingMessage, options: AdmissionOptions): Promise<Identity | null> {
  const meta = requestMeta(req, options.trustedProxyHops);
  let identity: Identity | null;
  try {
    identity = await identify(req.headers, options.verifyToken);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    await options.rateLimiter.check(`ip:${meta.limitedAs}`);
    throw toRequestError(err);
  }
  if (identity) meta.userId = identity.userId;
  await options.rateLimiter.check(identity ? `user:${identity.userId}` : `ip:${meta.limitedAs}`);
  return identity;
}

export interface Refusal {
  readonly status: 401 | 429;
  readonly code: ErrorCode;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** What `admitClient` refused with, for an answer of one's own; undefined for anything else. */
export function refusalOf(err: unknown): Refusal | undefined {
  if (!(err instanceof GraphQLError)) return undefined;
  const { code, retryAfterSeconds } = err.extensions;
  if (code === ErrorCode.UNAUTHENTICATED) return { status: 401, code, message: err.message, headers: {} };
  if (code === ErrorCode.RATE_LIMITED)
    return { status: 429, code, message: err.message, headers: { 'retry-after': String(retryAfterSeconds) } };
  return undefined;
}
