// How the gateway calls a subgraph: over a keep-alive fetcher, forwarding only what the
// subgraph needs to trust and trace the call. The verified token is forwarded as it came (the
// subgraph verifies it again against the users JWKS); a bare identity header is never sent.
// Every call also carries the gateway's service token for that subgraph, without which a
// subgraph refuses the request (shared/auth/service-identity.ts). Every call passes the
// subgraph's circuit breaker: a call the subgraph cannot answer (down, too slow, 502/503/504)
// becomes a SubgraphUnavailableError, and while the breaker is open calls fail at once.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GatewayContext } from '../auth/context.ts';
import type { ServiceHeaders } from '../../../shared/auth/service-identity.ts';
import { traceHeaders } from '../../../shared/observability/tracing.ts';
import { childTraceparent } from '../http/request-meta.ts';
import type { CircuitBreaker } from './breaker.ts';
import { SubgraphUnavailableError, unavailabilityOf, type UnavailableReason } from './unavailable.ts';

export interface DataSourceOptions {
  readonly name: string;
  readonly url: string;
  readonly fetcher: Fetcher;
  readonly serviceHeaders: ServiceHeaders;
  readonly breaker: CircuitBreaker;
  /** Called for every call that failed for want of the subgraph (breaker-open included). */
  readonly onUnavailable?: (reason: UnavailableReason, error?: unknown) => void;
}

/** A data source for one subgraph, behind its breaker. */
export function createDataSource(options: DataSourceOptions): RemoteGraphQLDataSource<GatewayContext> {
  return new GuardedDataSource(options);
}

class GuardedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly guard: DataSourceOptions;

  constructor(options: DataSourceOptions) {
    const { name, url, fetcher, serviceHeaders } = options;
    super({
      url,
      fetcher,
      async willSendRequest(request: GraphQLDataSourceProcessOptions<GatewayContext>) {
        const headers = request.request.http?.headers;
        if (!headers) return;
        const all = { ...subgraphHeaders(request.context), ...(await serviceHeaders(name)) };
        for (const [header, value] of Object.entries(all)) headers.set(header, value);
      },
    });
    this.guard = options;
  }

  override async process(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): ReturnType<RemoteGraphQLDataSource<GatewayContext>['process']> {
    const { name, breaker, onUnavailable } = this.guard;
    const attempt = breaker.attempt();
    if (!attempt) {
      onUnavailable?.('breaker-open');
      throw new SubgraphUnavailableError(name, 'breaker-open');
    }
    try {
      const response = await super.process(options);
      attempt.succeeded();
      return response;
    } catch (error) {
      const reason = unavailabilityOf(error);
      // The subgraph answered, if with an error: it is up, the error is the caller's to see.
      if (!reason) {
        attempt.succeeded();
        throw error;
      }
      attempt.failed();
      onUnavailable?.(reason, error);
      throw new SubgraphUnavailableError(name, reason);
    }
  }
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
