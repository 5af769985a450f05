// The same subscription over Server-Sent Events (graphql-sse, "distinct connections" mode), for
// clients that cannot open a WebSocket: `POST /graphql/stream` (or GET with `?query=`) with
// `Accept: text/event-stream` and `Authorization: Bearer <token>`. A separate path rather than
// content negotiation on /graphql keeps Apollo Server's own handling of /graphql untouched.
//
//   an invalid or expired token            HTTP 401, a JSON body with code UNAUTHENTICATED
//   no token, or a refused subscription    one `next` event carrying the errors (codes as over
//                                          WebSocket), then `complete`
//   the token expires while streaming      a `next` event with error UNAUTHENTICATED, then `complete`
//   the client does not read, or the gateway stops   the response is cut off (the client
//                                          reconnects and gets the current state first)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler } from 'graphql-sse/lib/use/http';
import { identify, type Identity, type TokenVerifier } from '../../../shared/auth/identity.ts';
import { AppError, ErrorCode } from '../../../shared/errors.ts';
import type { RequestHandler } from '../../../shared/http/server.ts';
import { clientAddress } from '../http/request-meta.ts';
import type { Sink } from './engine.ts';
import { RefusedSubscription, requestError } from './operation.ts';
import { msUntilExpiry, openSubscription, type OpenOptions } from './open.ts';

export const SSE_PATH = '/graphql/stream';

export interface SseOptions extends OpenOptions {
  readonly verifyToken: TokenVerifier;
  readonly trustedProxyHops: number;
}

export function createSseHandler(options: SseOptions): RequestHandler {
  const handler = createHandler<undefined>({
    onSubscribe: async (req, params) => {
      const raw = req.raw as IncomingMessage;
      const res = (req.context as { res: ServerResponse }).res;
      let identity: Identity | null;
      try {
        identity = await identify(raw.headers, options.verifyToken);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return [
          JSON.stringify({ errors: [{ message: err.message, extensions: { code: err.code } }] }),
          {
            status: 401,
            statusText: 'Unauthorized',
            headers: { 'content-type': 'application/json; charset=utf-8' },
          },
        ] as const;
      }
      try {
        const { stream } = await openSubscription(
          options,
          { query: params.query, variables: params.variables, operationName: params.operationName },
          identity,
          clientAddress(raw, options.trustedProxyHops),
          responseSink(res),
        );
        if (identity) {
          const expiry = setTimeout(() => {
            stream.push({
              data: null,
              errors: [{ message: 'The token has expired', extensions: { code: ErrorCode.UNAUTHENTICATED } }],
            });
            stream.end();
          }, msUntilExpiry(identity));
          expiry.unref();
          res.once('close', () => clearTimeout(expiry));
        }
        return stream as never;
      } catch (err) {
        if (err instanceof RefusedSubscription) return { data: null, errors: err.errors };
        throw err;
      }
    },
  });
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      options.logger.error({ err }, 'SSE subscription failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(
          JSON.stringify({
            errors: [requestError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')],
          }),
        );
      } else res.destroy();
    }
  };
}

function responseSink(res: ServerResponse): Sink {
  return {
    transport: 'sse',
    bufferedBytes: () => res.writableLength,
    close: () => res.destroy(),
  };
}
