// The per-request GraphQL context of the gateway: who is asking (a verified token, or nobody),
// the request's id and trace, and a logger that carries both. Creating it first admits the
// client from the request's headers (auth/admission.ts: the token verified, a token of its rate
// limit spent), before the body is read, so a bad token or a spent limit costs no body read or
// parse; then it reads the body and checks the query's text (size, tokens, nesting) and its
// persisted-query extension, so a refused request costs no parsing, no planning and no
// subgraph call.
import type { IncomingMessage } from 'node:http';
import type { HTTPGraphQLRequest } from '@apollo/server';
import type { Identity, TokenVerifier } from '../../../shared/auth/identity.ts';
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
import { admitClient } from './admission.ts';

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
    // Refusals (401, 429) are thrown as GraphQL errors, which Apollo answers as it always has.
    const identity = await admitClient(req, options);
    const request = await read();
    try {
      checkGraphQLRequest(request, options.queryLimits);
    } catch (err) {
      if (err instanceof QueryTooComplexError) options.onQueryRejected(err.limit);
      throw err instanceof AppError ? toRequestError(err) : err;
    }
    const meta = requestMeta(req, options.trustedProxyHops);
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
