// The HTTP client the gateway uses for one subgraph: an undici Agent that keeps connections
// open (a TCP handshake per subgraph call would dominate small queries), with a bounded pool
// and a time limit per call. Each new connection is counted, so reuse can be seen in /metrics.
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { Agent, buildConnector, fetch } from 'undici';

export interface SubgraphFetcherOptions {
  /** Most connections open to the subgraph at once; further calls queue. */
  readonly connections: number;
  /** Time one call may take, connection included. */
  readonly timeoutMs: number;
  /** Called when a new connection is established. */
  readonly onConnect?: () => void;
}

export interface SubgraphFetcher {
  readonly fetcher: Fetcher;
  close(): Promise<void>;
}

/** Idle connections are closed after this; below the subgraphs' 65 s server keep-alive timeout. */
const KEEP_ALIVE_MS = 30_000;

export function createSubgraphFetcher(options: SubgraphFetcherOptions): SubgraphFetcher {
  const connect = buildConnector({ timeout: Math.min(options.timeoutMs, 10_000), keepAlive: true });
  const agent = new Agent({
    connections: options.connections,
    keepAliveTimeout: KEEP_ALIVE_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MS,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: (connectOptions, callback) =>
      connect(connectOptions, (...result) => {
        if (result[0] === null) options.onConnect?.();
        callback(...result);
      }),
  });
  const fetcher: Fetcher = async (url, init) => {
    const response = await fetch(url, {
      method: init?.method,
      headers: init?.headers,
      body: init?.body,
      // @apollo/utils.fetcher types `signal` as any; the gateway passes an AbortSignal or none.
      signal: init?.signal instanceof AbortSignal ? init.signal : AbortSignal.timeout(options.timeoutMs),
      dispatcher: agent,
    });
    return response as unknown as FetcherResponse;
  };
  return { fetcher, close: () => agent.close() };
}
