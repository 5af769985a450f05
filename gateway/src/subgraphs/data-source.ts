// How the gateway calls a subgraph: over a keep-alive fetcher, forwarding only what the
// subgraph needs to trust and trace the call. The verified token is forwarded as it came (the
// subgraph verifies it again against the users JWKS); a bare identity header is never sent.
// Every call also carries the gateway's service token for that subgraph, without which a
// subgraph refuses the request (shared/auth/service-identity.ts). Every call goes to one of the
// subgraph's instances and passes that instance's circuit breaker (instances.ts): a call no
// instance can answer (down, too slow, 502/503/504) becomes a SubgraphUnavailableError, and
// while every instance's breaker is open calls fail at once.
//
// Identical fetches of client queries in flight at the same time share one call (see
// shared-fetch.ts for what counts as identical). Only that one call passes the breaker, so the
// breaker counts calls to the subgraph, not the requests waiting on them; each waiter gets its
// own copy of the answer, or its own SUBGRAPH_UNAVAILABLE error.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GatewayContext } from '../auth/context.ts';
import type { ServiceHeaders } from '../../../shared/auth/service-identity.ts';
import { traceHeaders } from '../../../shared/observability/tracing.ts';
import { childTraceparent } from '../http/request-meta.ts';
import { InFlightCalls } from './in-flight.ts';
import { isRead, type FailoverListener, type SubgraphInstances } from './instances.ts';
import { sendToSubgraph } from './send.ts';
import { copyResponse, fetchKey, mayShare, type SubgraphResponse } from './shared-fetch.ts';
import { SubgraphUnavailableError, type UnavailableReason } from './unavailable.ts';

export interface DataSourceOptions {
  readonly name: string;
  /** Its instances, each behind its own breaker; calls are spread over them (instances.ts). */
  readonly instances: SubgraphInstances;
  readonly fetcher: Fetcher;
  readonly serviceHeaders: ServiceHeaders;
  /** Identical concurrent fetches of client queries share one call (SUBGRAPH_DEDUP). */
  readonly dedup: boolean;
  /** Called for every fetch of a query plan: `shared` when it joined an identical one in flight. */
  readonly onFetch?: (shared: boolean) => void;
  /** Called for every call that failed for want of the subgraph (breaker-open included). */
  readonly onUnavailable?: (reason: UnavailableReason, error?: unknown) => void;
  /** Called when a call failed on one instance and goes on to another. */
  readonly onFailover?: FailoverListener;
}

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;

/** A data source for one subgraph, spreading its calls over the subgraph's instances. */
export function createDataSource(options: DataSourceOptions): RemoteGraphQLDataSource<GatewayContext> {
  return new GuardedDataSource(options);
}

class GuardedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly guard: DataSourceOptions;
  private readonly inFlight = new InFlightCalls<SubgraphResponse>(copyResponse);

  constructor(options: DataSourceOptions) {
    super({ url: options.instances.instances[0]!.url, fetcher: options.fetcher });
    this.guard = options;
  }

  override async process(options: ProcessOptions): Promise<SubgraphResponse> {
    const { dedup, onFetch, onUnavailable } = this.guard;
    if (!dedup || !mayShare(options)) {
      onFetch?.(false);
      return this.call(options);
    }
    const key = fetchKey(options.request, await this.credentials(options.context));
    const { result, shared } = this.inFlight.call(key, () => this.call(options));
    onFetch?.(shared);
    if (!shared) return result;
    try {
      return await result;
    } catch (error) {
      if (!(error instanceof SubgraphUnavailableError)) throw error;
      // Each waiter's response carries an error of its own, and counts as a call that failed.
      onUnavailable?.(error.reason);
      throw new SubgraphUnavailableError(error.service, error.reason);
    }
  }

  /** One call to the subgraph, to one instance after another as instances.ts decides. */
  private async call(options: ProcessOptions): Promise<SubgraphResponse> {
    const { instances, onUnavailable, onFailover } = this.guard;
    try {
      return await instances.call(
        async (instance) =>
          sendToSubgraph(this, instance.url, options, {
            ...requestHeaders(options.context),
            ...(await this.credentials(options.context)),
          }),
        isRead(options),
        onFailover,
      );
    } catch (error) {
      if (error instanceof SubgraphUnavailableError) onUnavailable?.(error.reason, error.failure);
      throw error;
    }
  }

  /** The headers that say who calls: the user's token (if any) and the gateway's service token. */
  private async credentials(context: Partial<GatewayContext> | undefined): Promise<Record<string, string>> {
    const { name, serviceHeaders } = this.guard;
    return { ...userCredentials(context), ...(await serviceHeaders(name)) };
  }
}

/** The user's verified token, forwarded as it came. */
function userCredentials(context: Partial<GatewayContext> | undefined): Record<string, string> {
  return context?.identity ? { authorization: `Bearer ${context.identity.token}` } : {};
}

/** The headers that name one request, not who makes it: its id and trace. */
function requestHeaders(context: Partial<GatewayContext> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (context?.requestId) headers['x-request-id'] = context.requestId;
  // The active span (Apollo's `gateway.fetch` of this call, under the request's server span)
  // when tracing is on; else the request's trace with a fresh span id.
  const traced = traceHeaders();
  if (traced.traceparent) Object.assign(headers, traced);
  else if (context?.trace) headers.traceparent = childTraceparent(context.trace);
  return headers;
}
