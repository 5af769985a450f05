// The per-request GraphQL context of the gateway: who is asking (a verified token, or nobody),
// the request's id and trace, and a logger that carries both. Creating it also spends a token
// of the client's rate limit and checks the query's text (size, tokens, nesting) and its
// persisted-query extension, so a refused request costs no
// parsing, no planning and no subgraph call.
import type { IncomingMessage } from 'node:http';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { identify, type Identity, type TokenVerifier } from '../../../shared/auth/identity.ts';
import { AppError } from '../../../shared/errors.ts';
import { toRequestError } from '../../../shared/graphql/format-error.ts';
import type { Logger } from '../../../shared/logger.ts';
import { requestMeta, type TraceContext } from '../http/request-meta.ts';
import type { RateLimiter } from '../limits/rate-limit.ts';
import {
  checkGraphQLRequest,
  QueryTooComplexError,
  type LimitName,
  type QueryLimits,
} from '../limits/query-limits.ts';

export interface GatewayContext {
  readonly identity: Identity | null;
  readonly requestId: string;
  readonly trace: TraceContext;
  readonly logger: Logger;
}

export interface ContextOptions {
  readonly verifyToken: TokenVerifier;
  readonly rateLimiter: RateLimiter;
  readonly trustedProxyHops: number;
  readonly queryLimits: QueryLimits;
  readonly onQueryRejected: (limit: LimitName) => void;
  readonly logger: Logger;
}

export function createContextFactory(options: ContextOptions) {
  return async function context(
    req: IncomingMessage,
    read: () => Promise<HTTPGraphQLRequest>,
  ): Promise<GatewayContext> {
    const request = await read();
    const meta = requestMeta(req, options.trustedProxyHops);
    let identity: Identity | null;
    try {
      identity = await identify(req.headers, options.verifyToken);
    } catch (err) {
      // A bad token is the client's problem (401), and spends its address's rate limit like an
      // anonymous request: otherwise any malformed token was a way past the limit. An
      // unreachable key set is ours (masked 500).
      if (err instanceof AppError) await options.rateLimiter.check(`ip:${meta.limitedAs}`);
      throw err instanceof AppError ? toRequestError(err) : err;
    }
    if (identity) meta.userId = identity.userId;
    await options.rateLimiter.check(identity ? `user:${identity.userId}` : `ip:${meta.limitedAs}`);
    try {
      checkGraphQLRequest(request, options.queryLimits);
    } catch (err) {
      if (err instanceof QueryTooComplexError) options.onQueryRejected(err.limit);
      throw err instanceof AppError ? toRequestError(err) : err;
    }
    return {
      identity,
      requestId: meta.requestId,
      trace: meta.trace,
      logger: options.logger.child({
        requestId: meta.requestId,
        traceId: meta.trace.traceId,
        userId: identity?.userId,
      }),
    };
  };
}
