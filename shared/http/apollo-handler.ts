// Serves an Apollo Server on a plain node:http server (Apollo Server 5 ships no built-in
// adapter besides its standalone one, which owns the server and so cannot share it with
// health checks, metrics and WebSockets).
//
// The body is read only when the context factory asks for it. Apollo makes the context after
// it has answered what needs no body (the landing page, a CSRF refusal) and before it looks at
// the body, so a factory can refuse a request from its headers alone (a bad token, a spent rate
// limit): Apollo answers that as any context error, and the body is never read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HeaderMap,
  type ApolloServer,
  type BaseContext,
  type HTTPGraphQLRequest,
  type HTTPGraphQLResponse,
} from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.ts';
import {
  MAX_BODY_BYTES,
  TOO_LARGE,
  answerUnread,
  declaresTooLarge,
  readLimitedBody,
  sendBodyTooLarge,
} from './body.ts';

export { MAX_BODY_BYTES };

/**
 * Makes a request's context. `read` reads the body (once, however often it is called) and
 * returns the GraphQL request as parsed from HTTP (query, variables): a factory that can refuse
 * a request from its headers does so before it calls `read`. The body is read after the factory
 * returns if it did not ask for it.
 */
export type ContextFactory<C extends BaseContext> = (
  req: IncomingMessage,
  read: () => Promise<HTTPGraphQLRequest>,
) => Promise<C>;

export function createApolloHandler<C extends BaseContext>(
  server: ApolloServer<C>,
  context: ContextFactory<C>,
) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // An announced oversize body is refused first, as it costs nothing to see.
    if (declaresTooLarge(req)) {
      sendBodyTooLarge(req, res);
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      headers,
      search: url.search,
      body: undefined,
    };
    const body = new LazyBody(req, httpGraphQLRequest);
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        const value = await context(req, body.read);
        await body.read();
        return value;
      },
    });
    // Apollo's answer to a body that could not be read is not sent: that body's own is.
    if (body.failure === TOO_LARGE) {
      sendBodyTooLarge(req, res);
      return;
    }
    if (body.failure) throw body.failure;
    await respond(req, res, response);
  };
}

/**
 * A request's body, read when first asked for, into the HTTPGraphQLRequest that Apollo reads it
 * from once the context is made.
 */
class LazyBody {
  /** Why the body could not be read: too large, or the request was aborted. */
  failure: typeof TOO_LARGE | Error | undefined;
  #reading: Promise<HTTPGraphQLRequest> | undefined;
  readonly #req: IncomingMessage;
  readonly #request: HTTPGraphQLRequest;

  constructor(req: IncomingMessage, request: HTTPGraphQLRequest) {
    this.#req = req;
    this.#request = request;
  }

  readonly read = (): Promise<HTTPGraphQLRequest> => (this.#reading ??= this.#readOnce());

  async #readOnce(): Promise<HTTPGraphQLRequest> {
    let text: string | typeof TOO_LARGE;
    try {
      text = await readLimitedBody(this.#req);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw unread();
    }
    if (text === TOO_LARGE) {
      this.failure = TOO_LARGE;
      throw unread();
    }
    this.#request.body = parseBody(text, this.#request.headers.get('content-type'));
    return this.#request;
  }
}

/**
 * What the context fails with when the body could not be read. Apollo's answer to it is
 * dropped (the handler answers the failure itself), so it only has to pass Apollo and the error
 * formatters quietly: a client error, not something to log.
 */
function unread(): GraphQLError {
  return new GraphQLError('The request body could not be read', {
    extensions: { code: ErrorCode.BAD_USER_INPUT },
  });
}

async function respond(req: IncomingMessage, res: ServerResponse, response: HTTPGraphQLResponse) {
  for (const [key, value] of response.headers) res.setHeader(key, value);
  const status = response.status ?? 200;
  if (response.body.kind === 'complete') {
    // Refused before its body was read, and the body is still arriving: drained, bounded.
    if (!req.complete) answerUnread(req, res, status, {}, response.body.string);
    else {
      res.statusCode = status;
      res.end(response.body.string);
    }
    return;
  }
  res.statusCode = status;
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function parseBody(body: string, contentType: string | undefined): unknown {
  if (!body) return undefined;
  if (
    contentType?.includes('application/json') ||
    contentType?.includes('application/graphql-response+json')
  ) {
    try {
      return JSON.parse(body);
    } catch {
      // Apollo Server answers a body it cannot read with a 400 of its own.
      return body;
    }
  }
  return body;
}
