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
  readonly headers: AnswerHeaders;
  readonly #text: string;
  readonly redirected = false;
  readonly bodyUsed = false;
  readonly statusText = '';

  constructor(url: string, status: number, headers: IncomingHttpHeaders | AnswerHeaders, text: string) {
    this.url = url;
    this.status = status;
    this.headers =
      headers instanceof AnswerHeaders ? headers : new AnswerHeaders(headers as IncomingHttpHeaders);
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

/**
 * An answer's headers as read (content-type, cache-control), over what undici parsed: a WHATWG
 * Headers per answer validated and copied every header for those two reads. Names are lower
 * case (as undici gives them); a repeated header reads as its values joined by ", ".
 */
class AnswerHeaders implements FetcherHeaders {
  readonly #values = new Map<string, string>();

  constructor(raw: IncomingHttpHeaders) {
    for (const [name, value] of Object.entries(raw)) {
      if (value !== undefined) this.#values.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
  }

  get(name: string): string | null {
    return this.#values.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#values.has(name.toLowerCase());
  }

  set(name: string, value: string): void {
    this.#values.set(name.toLowerCase(), value);
  }

  append(name: string, value: string): void {
    const before = this.get(name);
    this.set(name, before === null ? value : `${before}, ${value}`);
  }

  delete(name: string): void {
    this.#values.delete(name.toLowerCase());
  }

  entries(): MapIterator<[string, string]> {
    return this.#values.entries();
  }

  keys(): MapIterator<string> {
    return this.#values.keys();
  }

  values(): MapIterator<string> {
    return this.#values.values();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.#values.entries();
  }
}
