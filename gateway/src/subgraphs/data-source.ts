// How the gateway calls a subgraph: over a keep-alive fetcher, forwarding only what the
// subgraph needs to trust and trace the call. The verified token is forwarded as it came (the
// subgraph verifies it again against the users JWKS); a bare identity header is never sent.
// Every call also carries the gateway's service token for that subgraph, without which a
// subgraph refuses the request (shared/auth/service-identity.ts).
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GatewayContext } from '../auth/context.ts';
import type { ServiceHeaders } from '../../../shared/auth/service-identity.ts';
import { traceHeaders } from '../../../shared/observability/tracing.ts';
import { childTraceparent } from '../http/request-meta.ts';

/** A data source for the subgraph `name` at `url`. */
export function createDataSource(
  name: string,
  url: string,
  fetcher: Fetcher,
  serviceHeaders: ServiceHeaders,
): RemoteGraphQLDataSource<GatewayContext> {
  return new RemoteGraphQLDataSource<GatewayContext>({
    url,
    fetcher,
    async willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
      const headers = options.request.http?.headers;
      if (!headers) return;
      const all = { ...subgraphHeaders(options.context), ...(await serviceHeaders(name)) };
      for (const [header, value] of Object.entries(all)) headers.set(header, value);
    },
  });
}

/** The headers of one subgraph call, from the gateway's request context (if there is one). */
export function subgraphHeaders(context: Partial<GatewayContext> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (context?.identity) headers.authorization = `Bearer ${context.identity.token}`;
  if (context?.requestId) headers['x-request-id'] = context.requestId;
  // The active span (Apollo's `gateway.fetch` of this call, under the request's server span)
  // when tracing is on; else the request's trace with a fresh span id.
  const traced = traceHeaders();
  if (traced.traceparent) Object.assign(headers, traced);
  else if (context?.trace) headers.traceparent = childTraceparent(context.trace);
  return headers;
}
