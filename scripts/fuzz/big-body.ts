// Streams a huge request body, generated while it is sent (never held in memory), and watches
// the receiving process's resident memory while it does: a server with a body limit answers
// 413 early and its RSS barely moves; one that reads the body whole grows by the body's size
// (or dies at V8's string limit).
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface UploadResult {
  readonly status: number | undefined;
  readonly body: string;
  /** Bytes written before the answer came (or the connection ended). */
  readonly sentBytes: number;
  readonly ms: number;
  /** Highest RSS seen during the upload minus the RSS before it. */
  readonly rssGrowthBytes: number;
  readonly error?: string;
}

/** The resident set size of a process, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

function generated(size: number, onRead: (bytes: number) => void): Readable {
  const chunk = Buffer.alloc(256 * 1024, 'x');
  const prefix = Buffer.from('{"query":"{ __typename }","variables":{"x":"');
  let left = size;
  let first = true;
  return new Readable({
    read() {
      const part = first ? prefix : left >= chunk.length ? chunk : chunk.subarray(0, left);
      first = false;
      if (left <= 0) return void this.push(null);
      left -= part.length;
      onRead(part.length);
      this.push(part);
    },
  });
}

export interface UploadOptions {
  readonly url: string;
  readonly method?: string;
  readonly size: number;
  /** Content-Length (true) or chunked transfer encoding (false). */
  readonly declareLength: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  /** The process whose RSS is watched. */
  readonly pid: number;
  readonly timeoutMs: number;
  /** How often RSS is sampled while the upload runs. */
  readonly sampleMs?: number;
}

export async function uploadHugeBody(options: UploadOptions): Promise<UploadResult> {
  const before = await rssOf(options.pid);
  let peak = before;
  let sampling = true;
  // Sampling is polling by nature: memory has no event to wait for.
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssOf(options.pid).catch(() => peak));
      await new Promise((resolve) => setTimeout(resolve, options.sampleMs ?? 20));
    }
  })();
  const started = performance.now();
  let sentBytes = 0;
  const result = await new Promise<Omit<UploadResult, 'rssGrowthBytes'>>((resolve) => {
    let settled = false;
    let status: number | undefined;
    let body = '';
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve({
        status,
        body,
        sentBytes,
        ms: Math.round(performance.now() - started),
        ...(error ? { error } : {}),
      });
    };
    const timer = setTimeout(() => finish(`no answer within ${options.timeoutMs} ms`), options.timeoutMs);
    const request = http.request(
      options.url,
      {
        method: options.method ?? 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          ...options.headers,
          ...(options.declareLength
            ? { 'content-length': String(options.size) }
            : { 'transfer-encoding': 'chunked' }),
        },
      },
      (response) => {
        status = response.statusCode;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk.slice(0, 4096)));
        response.on('end', () => finish());
        response.on('error', () => finish());
      },
    );
    // A write may fail once the server has answered and closed; the answer, if it was read,
    // is complete by the time the request closes.
    let failure: string | undefined;
    request.on('error', (err) => (failure ??= err.message));
    request.on('close', () =>
      finish(status === undefined ? (failure ?? 'closed with no answer') : undefined),
    );
    generated(options.size, (n) => (sentBytes += n)).pipe(request);
  });
  sampling = false;
  await sampler;
  peak = Math.max(peak, await rssOf(options.pid).catch(() => peak));
  return { ...result, rssGrowthBytes: peak - before };
}
