// The same subscription over Server-Sent Events (graphql-sse, "distinct connections" mode), for
// clients that cannot open a WebSocket: `POST /graphql/stream` (or GET with `?query=`) with
// `Accept: text/event-stream` and `Authorization: Bearer <token>`. A separate path rather than
// content negotiation on /graphql keeps Apollo Server's own handling of /graphql untouched.
//
//   an invalid or expired token            HTTP 401, a JSON body with code UNAUTHENTICATED
//   the client's rate limit spent          HTTP 429, code RATE_LIMITED, Retry-After (both
//                                          decided from the headers, before the body is read)
//   no token, or a refused subscription    one `next` event carrying the errors (codes as over
//                                          WebSocket), then `complete`
//   the token expires while streaming      a `next` event with error UNAUTHENTICATED, then `complete`
//   the client does not read, or the gateway stops   the response is cut off (the client
//                                          reconnects and gets the current state first)
//   a request this endpoint cannot serve   4xx with a JSON body `{ errors: [{ message,
//   (body over the limit, bad JSON, no     extensions: { code } }] }`
//   query, wrong method or content type)
//
// Only distinct connections: graphql-sse's "single connection" mode keeps a reservation per
// client-chosen token (`PUT`) until a stream connects, state an anonymous client could pile up.
// Such requests (anything but GET/POST with Accept: text/event-stream) are refused here, and
// the body is read by us with the same limit as /graphql, then handed to graphql-sse parsed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler, type Request as SseRequest, type Response as SseResponse } from 'graphql-sse';
import type { Identity, TokenVerifier } from '../../../shared/auth/identity.ts';
import { ErrorCode } from '../../../shared/errors.ts';
import {
  MAX_BODY_BYTES,
  TOO_LARGE,
  readLimitedBody,
  refuseUnread,
  sendBodyTooLarge,
} from '../../../shared/http/body.ts';
import { sendErrors } from '../../../shared/http/responses.ts';
import type { RequestHandler } from '../../../shared/http/server.ts';
import type { Sink } from './engine.ts';
import type { LiveStream } from './live-stream.ts';
import { RefusedSubscription } from './operation.ts';
import { admitSseClient } from './sse-admission.ts';
import { msUntilExpiry, openSubscription, type OpenOptions } from './open.ts';

export const SSE_PATH = '/graphql/stream';
const EVENT_STREAM = 'text/event-stream';

export interface SseOptions extends OpenOptions {
  readonly verifyToken: TokenVerifier;
  readonly trustedProxyHops: number;
}

/** What the request's headers told before its body was read (sse-admission.ts). */
type Context = { res: ServerResponse; identity: Identity | null };

export function createSseHandler(options: SseOptions): RequestHandler {
  const handler = createHandler<IncomingMessage, Context>({
    // No stream token, ever: graphql-sse then serves each request as its own stream.
    authenticate: () => null,
    onSubscribe: async (req, params) => {
      const { res, identity } = req.context;
      try {
        const { stream } = await openSubscription(
          options,
          { query: params.query, variables: params.variables, operationName: params.operationName },
          identity,
          responseSink(res),
        );
        if (identity) endAtExpiry(stream, identity, res);
        return stream as never;
      } catch (err) {
        if (err instanceof RefusedSubscription) return { data: null, errors: err.errors };
        throw err;
      }
    },
  });

  return async (req, res) => {
    try {
      const method = servedMethod(req, res);
      if (!method) return;
      const admitted = await admitSseClient(req, res, options);
      if (!admitted) return;
      const request = await readRequest(req, res, method, admitted.identity);
      if (!request) return;
      await respond(res, await handler(request));
    } catch (err) {
      options.logger.error({ err }, 'SSE subscription failed');
      if (!res.headersSent) sendErrors(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      else res.destroy();
    }
  };
}

/**
 * The method, when the headers ask for what this endpoint serves (GET, or POST of JSON, for an
 * event stream); else undefined, the request answered with an error.
 */
function servedMethod(req: IncomingMessage, res: ServerResponse): 'GET' | 'POST' | undefined {
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'POST') {
    refuseUnread(req, res, 405, ErrorCode.BAD_USER_INPUT, 'Use GET or POST', { allow: 'GET, POST' });
    return undefined;
  }
  if (!req.headers.accept?.includes(EVENT_STREAM)) {
    refuseUnread(
      req,
      res,
      406,
      ErrorCode.BAD_USER_INPUT,
      `Send Accept: ${EVENT_STREAM} (one stream per request)`,
    );
    return undefined;
  }
  if (method === 'POST' && !req.headers['content-type']?.includes('application/json')) {
    refuseUnread(req, res, 415, ErrorCode.BAD_USER_INPUT, 'Send the operation as application/json');
    return undefined;
  }
  return method;
}

/** The request as graphql-sse takes it, or undefined when it has been answered with an error. */
async function readRequest(
  req: IncomingMessage,
  res: ServerResponse,
  method: 'GET' | 'POST',
  identity: Identity | null,
): Promise<SseRequest<IncomingMessage, Context> | undefined> {
  let body: Record<PropertyKey, unknown> | null = null;
  if (method === 'POST') {
    const text = await readLimitedBody(req, MAX_BODY_BYTES);
    if (text === TOO_LARGE) {
      sendBodyTooLarge(req, res, MAX_BODY_BYTES);
      return undefined;
    }
    const parsed = parseJson(text);
    if (parsed === undefined || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      sendErrors(res, 400, ErrorCode.BAD_USER_INPUT, 'The request body must be a JSON object');
      return undefined;
    }
    body = parsed as Record<PropertyKey, unknown>;
  }
  return {
    method,
    url: req.url ?? '/',
    headers: {
      // graphql-sse compares Accept exactly; any Accept that lists event streams asks for one.
      get: (key) => (key === 'accept' ? EVENT_STREAM : joined(req.headers[key])),
    },
    body,
    raw: req,
    context: { res, identity },
  };
}

/** Writes graphql-sse's answer; its own error answers get codes (it sends only messages). */
async function respond(res: ServerResponse, [body, init]: SseResponse): Promise<void> {
  if (init.status >= 400) {
    const message = errorMessage(body) ?? init.statusText ?? 'Bad request';
    const code = init.status === 401 ? ErrorCode.UNAUTHENTICATED : ErrorCode.BAD_USER_INPUT;
    if (typeof body === 'string' && hasCodes(body)) {
      res.writeHead(init.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    } else sendErrors(res, init.status, code, message);
    return;
  }
  res.writeHead(init.status, init.statusText, init.headers);
  if (!body || typeof body === 'string') {
    await new Promise<void>((resolve) => res.end(body, () => resolve()));
    return;
  }
  // As graphql-sse's own node:http adapter does: write each event, stop when the client leaves.
  const stop = () => void body.return(undefined);
  res.once('close', stop);
  for await (const chunk of body) {
    if (!res.writable) break;
    const written = await new Promise<boolean>((resolve) => res.write(chunk, (err) => resolve(!err)));
    if (!written) break;
  }
  res.off('close', stop);
  await new Promise<void>((resolve) => res.end(() => resolve()));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The first message of a graphql-sse error body (`{ errors: [{ message }] }`), if it has one. */
function errorMessage(body: SseResponse[0]): string | undefined {
  if (typeof body !== 'string') return undefined;
  const parsed = parseJson(body) as { errors?: { message?: unknown }[] } | undefined;
  const message = parsed?.errors?.[0]?.message;
  return typeof message === 'string' ? message : undefined;
}

function hasCodes(body: string): boolean {
  const parsed = parseJson(body) as { errors?: { extensions?: { code?: unknown } }[] } | undefined;
  return Boolean(
    parsed?.errors?.length && parsed.errors.every((e) => typeof e.extensions?.code === 'string'),
  );
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Ends the stream with an UNAUTHENTICATED event when the token it was opened with expires. */
function endAtExpiry(stream: LiveStream, identity: Identity, res: ServerResponse): void {
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

function responseSink(res: ServerResponse): Sink {
  return {
    transport: 'sse',
    connection: res,
    bufferedBytes: () => res.writableLength,
    close: () => res.destroy(),
  };
}
