// One call to one subgraph instance, as RemoteGraphQLDataSource.process makes it, less the
// per-call objects this gateway never reads: process builds a node-fetch Headers for the
// request and, in sendRequest, a node-fetch Request (parsing the URL each time) for hooks
// (didEncounterError, parseBody) that receive it and that this gateway does not override, and
// it supports APQ, which the gateway leaves off. Everything else is the same: the body, the
// error for a non-2xx answer (errorFromResponse), the parsed body with `http` beside it, and the
// subgraph's cache-control restricting the client request's cache policy.
import type { GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
// The parser RemoteGraphQLDataSource.respond uses: respond is private and the parser is not in
// the package's index, but @apollo/gateway has no exports map, so its module can be imported.
import { parseCacheControlHeader } from '@apollo/gateway/dist/datasources/parseCacheControlHeader.js';
import type { SubgraphResponse } from './shared-fetch.ts';

/** The data source whose fetcher, errorFromResponse, parseBody and cache-control setting make the call. */
type Source = Pick<
  RemoteGraphQLDataSource,
  'fetcher' | 'errorFromResponse' | 'parseBody' | 'honorSubgraphCacheControlHeader'
>;

export async function sendToSubgraph<C extends object>(
  source: Source,
  url: string,
  options: GraphQLDataSourceProcessOptions<C>,
  headers: Readonly<Record<string, string>>,
): Promise<SubgraphResponse> {
  const { http, ...request } = options.request;
  if (!request.query) throw new Error('Missing query');
  const all: Record<string, string> = {};
  if (http?.headers) for (const [name, value] of http.headers) all[name.toLowerCase()] = value;
  all['content-type'] = 'application/json';
  for (const [name, value] of Object.entries(headers)) all[name.toLowerCase()] = value;
  const response = await source.fetcher(url, {
    method: 'POST',
    headers: all,
    body: JSON.stringify(request),
  });
  if (!response.ok) throw await source.errorFromResponse(response);
  const body = await source.parseBody(response);
  if (typeof body !== 'object' || body === null) {
    throw new Error(`Expected JSON response body, but received: ${String(body)}`);
  }
  if (source.honorSubgraphCacheControlHeader)
    restrictCachePolicy(options, response.headers.get('cache-control'));
  return { ...body, http: response };
}

/** What RemoteGraphQLDataSource.respond does with a subgraph's cache-control header. */
function restrictCachePolicy<C extends object>(
  options: GraphQLDataSourceProcessOptions<C>,
  header: string | null,
): void {
  if (!('incomingRequestContext' in options)) return;
  const policy = options.incomingRequestContext.overallCachePolicy as
    { restrict?: (hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }) => void } | undefined;
  if (!policy || typeof policy.restrict !== 'function') return;
  const directives = parseCacheControlHeader(header);
  const hint: { maxAge: number; scope?: 'PUBLIC' | 'PRIVATE' } = { maxAge: 0 };
  const maxAge = directives['max-age'];
  if (typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge)) hint.maxAge = Number(maxAge);
  if (directives.private === true) hint.scope = 'PRIVATE';
  if (directives.public === true) hint.scope = 'PUBLIC';
  policy.restrict(hint);
}
