// Closed-loop HTTP load, the one driver of bench:gateway and bench:subgraph: a fixed number of
// connections, each sending its next request as soon as the previous one is answered, for a
// fixed time. undici's Pool (already the gateway's HTTP client) keeps one request in flight per
// connection; each request's latency is measured from sending to the whole body read.
// autocannon would do the same but wants its requests fixed in advance or rebuilt in a callback
// per connection; this loop is shorter than its set-up.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface LoadRequest {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface LoadResult {
  /** Requests answered (errors included). */
  readonly requests: number;
  /** Answers that were not HTTP 200 or carried GraphQL errors, and failed requests. */
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  /** Latency of every answer, ms, in order of completion. */
  readonly latenciesMs: number[];
}

export interface LoadOptions {
  readonly connections: number;
  readonly seconds: number;
}

/** POSTs `next()`'s requests to `url` from `connections` connections for `seconds`. */
export async function runLoad(
  url: string,
  next: () => LoadRequest,
  options: LoadOptions,
): Promise<LoadResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: options.connections, pipelining: 1 });
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const fail = (message: string) => {
    errors += 1;
    firstError ??= message.slice(0, 300);
  };
  const started = performance.now();
  const end = started + options.seconds * 1000;
  const connection = async () => {
    while (performance.now() < end) {
      const request = next();
      const sent = performance.now();
      try {
        const response = await pool.request({
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...request.headers },
          body: request.body,
        });
        const text = await response.body.text();
        latenciesMs.push(performance.now() - sent);
        if (response.statusCode !== 200) fail(`HTTP ${response.statusCode}: ${text}`);
        else if (text.includes('"errors"')) fail(text);
      } catch (error) {
        latenciesMs.push(performance.now() - sent);
        fail(String(error));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, connection));
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { requests: latenciesMs.length, errors, firstError, seconds, latenciesMs };
}
