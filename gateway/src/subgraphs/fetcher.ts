// The HTTP client the gateway uses for one subgraph: an undici Agent that keeps connections
// open (a TCP handshake per subgraph call would dominate small queries), with a bounded pool
// and a time limit per call. Each new connection is counted, so reuse can be seen in /metrics.
//
// Calls go through the Agent's own `request()` rather than undici's `fetch()`: fetch implements
// the WHATWG semantics (web streams, Request/Response objects, an abort controller per call) on
// top of the same dispatcher, which was a quarter of the gateway's CPU under the saga
// benchmark; a subgraph answer is a small JSON body read whole. The answer is handed to
// @apollo/gateway as the `FetcherResponse` it expects (status, headers, text/json).
import type { Fetcher, FetcherHeaders, FetcherResponse } from '@apollo/utils.fetcher';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, buildConnector } from 'undici';

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
  const targets = new Map<string, { origin: string; path: string }>();
  const target = (url: string) => {
    let found = targets.get(url);
    if (found === undefined) {
      const parsed = new URL(url);
      found = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      targets.set(url, found);
    }
    return found;
  };
  const fetcher: Fetcher = async (url, init) => {
    // The time limit as a timer cleared when the call is through: AbortSignal.timeout's timer
    // stays armed and fires (building an error and an abort event) long after every call.
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(new CallTimedOut(options.timeoutMs)), options.timeoutMs);
    try {
      const { statusCode, headers, body } = await agent.request({
        ...target(url),
        method: (init?.method ?? 'GET') as 'GET',
        headers: init?.headers,
        body: init?.body,
        // @apollo/utils.fetcher types `signal` as any; the gateway passes an AbortSignal or none.
        signal:
          init?.signal instanceof AbortSignal ? AbortSignal.any([init.signal, limit.signal]) : limit.signal,
      });
      return new SubgraphAnswer(url, statusCode, headers, await body.text());
    } finally {
      clearTimeout(timer);
    }
  };
  return { fetcher, close: () => agent.close() };
}

/** Named as AbortSignal.timeout names its reason, which is how a timed-out call is recognised. */
class CallTimedOut extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`The subgraph did not answer within ${ms} ms`);
  }
}

/** A subgraph's answer, read whole, as @apollo/gateway reads a fetch Response. */
class SubgraphAnswer implements FetcherResponse {
  readonly url: string;
  readonly status: number;
  readonly headers: FetcherHeaders;
  readonly #text: string;
  readonly redirected = false;
  readonly bodyUsed = false;
  readonly statusText = '';

  constructor(url: string, status: number, headers: IncomingHttpHeaders | FetcherHeaders, text: string) {
    this.url = url;
    this.status = status;
    this.headers = headers instanceof Headers ? headers : toHeaders(headers as IncomingHttpHeaders);
    this.#text = text;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async text(): Promise<string> {
    return this.#text;
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.#text);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return new TextEncoder().encode(this.#text).buffer;
  }

  clone(): FetcherResponse {
    return new SubgraphAnswer(this.url, this.status, this.headers, this.#text);
  }
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}
