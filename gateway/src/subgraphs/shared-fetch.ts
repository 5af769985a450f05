// Which subgraph fetches may share one call, and what makes two of them identical.
//
// Only fetches of a client's query are shared. A mutation's own fetch changes something each
// time, and the fetches that follow it in its plan must see its effect: a read already in flight
// may have started before the change. The key is everything that decides the subgraph's answer:
// the document, operation name, variables, extensions, and the credentials that reach the
// subgraph (the user's token, the gateway's service token), so two users never share a result.
// Per-request headers (traceparent, x-request-id) are left out: they name the request, they do
// not change the answer.
import type { GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';

export type SubgraphResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

/** True for the fetches of a client's query (not health checks, not schema loading). */
export function mayShare<C extends object>(options: GraphQLDataSourceProcessOptions<C>): boolean {
  // The request kinds are an enum @apollo/gateway does not export; only an incoming operation
  // has a request context.
  return (
    'incomingRequestContext' in options && options.incomingRequestContext.operation?.operation === 'query'
  );
}

/** Identical fetches of one subgraph have equal keys; `credentials` are header name → value. */
export function fetchKey(
  request: GraphQLDataSourceProcessOptions['request'],
  credentials: Readonly<Record<string, string>>,
): string {
  const names = Object.keys(credentials).sort();
  return JSON.stringify([
    request.query ?? null,
    request.operationName ?? null,
    request.variables ?? null,
    request.extensions ?? null,
    names.map((name) => [name, credentials[name]]),
  ]);
}

/**
 * A waiter's own copy of a subgraph's answer: the parsed body deep-copied (the gateway writes
 * into it); the HTTP response, only read for its cache-control header, is shared.
 */
export function copyResponse(response: SubgraphResponse): SubgraphResponse {
  return {
    ...response,
    ...(response.data !== undefined && { data: structuredClone(response.data) }),
    ...(response.errors !== undefined && { errors: structuredClone(response.errors) }),
    ...(response.extensions !== undefined && { extensions: structuredClone(response.extensions) }),
  };
}
