// Serves an Apollo Server on a plain node:http server (Apollo Server 5 ships no built-in
// adapter besides its standalone one, which owns the server and so cannot share it with
// health checks, metrics and WebSockets).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';
import { MAX_BODY_BYTES, TOO_LARGE, readLimitedBody, sendBodyTooLarge } from './body.ts';

export { MAX_BODY_BYTES };

/** Makes a request's context; it also sees the GraphQL request as parsed from HTTP (query, variables). */
export type ContextFactory<C extends BaseContext> = (
  req: IncomingMessage,
  request: HTTPGraphQLRequest,
) => Promise<C>;

export function createApolloHandler<C extends BaseContext>(
  server: ApolloServer<C>,
  context: ContextFactory<C>,
) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const body = await readLimitedBody(req);
    if (body === TOO_LARGE) {
      sendBodyTooLarge(req, res);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      headers,
      search: url.search,
      body: parseBody(body, headers.get('content-type')),
    };
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => context(req, httpGraphQLRequest),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
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
