// Who an SSE request is, and whether its rate limit lets it in, decided from its headers before
// its body is read: a client past its limit, or with a bad token, costs no body read or parse.
//
//   an invalid or expired token     HTTP 401, code UNAUTHENTICATED; it spends its address's
//                                   limit first, as an anonymous request does (as on /graphql)
//   the rate limit spent            HTTP 429, code RATE_LIMITED, Retry-After
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { identify, type Identity, type TokenVerifier } from '../../../shared/auth/identity.ts';
import { AppError, ErrorCode } from '../../../shared/errors.ts';
import { sendErrors } from '../../../shared/http/responses.ts';
import type { RateLimiter } from '../limits/rate-limit.ts';
import { limitedAddress } from '../http/request-meta.ts';

export interface SseAdmissionOptions {
  readonly verifyToken: TokenVerifier;
  readonly rateLimiter: RateLimiter;
  readonly trustedProxyHops: number;
}

/** The client's identity (null: anonymous), or undefined once the request has been answered. */
export async function admitSseClient(
  req: IncomingMessage,
  res: ServerResponse,
  options: SseAdmissionOptions,
): Promise<{ identity: Identity | null } | undefined> {
  const byAddress = () => `ip:${limitedAddress(req, options.trustedProxyHops)}`;
  let identity: Identity | null;
  try {
    identity = await identify(req.headers, options.verifyToken);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (await spent(res, options.rateLimiter, byAddress())) return undefined;
    sendErrors(res, 401, err.code, err.message);
    return undefined;
  }
  if (await spent(res, options.rateLimiter, identity ? `user:${identity.userId}` : byAddress()))
    return undefined;
  return { identity };
}

/** Takes a token for `key`; true once a 429 has been answered because none was left. */
async function spent(res: ServerResponse, rateLimiter: RateLimiter, key: string): Promise<boolean> {
  try {
    await rateLimiter.check(key);
    return false;
  } catch (err) {
    if (!(err instanceof GraphQLError) || err.extensions.code !== ErrorCode.RATE_LIMITED) throw err;
    sendErrors(res, 429, ErrorCode.RATE_LIMITED, err.message, {
      'retry-after': String(err.extensions.retryAfterSeconds),
    });
    return true;
  }
}
