// Sends one HTTP probe with node:http (not fetch: the probe controls methods, raw bytes and
// streamed bodies, and a keep-alive follow-up on the same connection) and reads its answer:
// a body up to READ_LIMIT, or an event stream up to its first result or its end.
import http from 'node:http';
import { Readable } from 'node:stream';
import type { HttpProbe, Outcome, SseEvent, StreamedBody } from './probe.ts';

/** Enough of a body to check it; the rest is read and dropped. */
const READ_LIMIT = 256 * 1024;

export interface HttpTarget {
  readonly baseUrl: string;
  /** Keep-alive connections, reused between probes of one lane. */
  readonly agent: http.Agent;
  readonly timeoutMs: number;
  readonly authorization?: string;
}

function streamed(body: StreamedBody): Readable {
  const chunk = Buffer.from(body.fill.repeat(Math.ceil((64 * 1024) / body.fill.length)));
  let left = body.size - Buffer.byteLength(body.prefix);
  let first = true;
  return new Readable({
    read() {
      if (first) {
        first = false;
        this.push(Buffer.from(body.prefix));
        return;
      }
      if (left <= 0) {
        this.push(null);
        return;
      }
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      this.push(part);
    },
  });
}

function bodyLength(body: HttpProbe['body']): number | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (Buffer.isBuffer(body)) return body.length;
  return body.size;
}

/** Parses `event:`/`data:` blocks of a text/event-stream. */
export function parseEvents(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0 || block.includes('event:')) events.push({ event, data: data.join('\n') });
  }
  return events;
}

export function sendHttp(probe: HttpProbe, target: HttpTarget): Promise<Outcome> {
  const started = performance.now();
  const url = new URL(probe.path, target.baseUrl);
  const headers: Record<string, string | number> = { ...probe.headers };
  if (target.authorization && !('authorization' in headers)) headers.authorization = target.authorization;
  const length = bodyLength(probe.body);
  if (length !== undefined) headers['content-length'] = length;

  return new Promise<Outcome>((resolve) => {
    let settled = false;
    let status: number | undefined;
    let contentType: string | undefined;
    let body = '';
    let request: http.ClientRequest | undefined;
    const finish = (extra: Partial<Outcome> = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const events =
        probe.stream && contentType?.includes('text/event-stream') ? parseEvents(body) : undefined;
      resolve({
        status,
        contentType,
        body,
        ms: Math.round(performance.now() - started),
        ...(events ? { events } : {}),
        ...extra,
      });
      // An event stream stays open after its first result; the probe has what it needs.
      if (request && !request.destroyed && (events || extra.hung)) request.destroy();
    };
    const timer = setTimeout(() => {
      finish({
        hung:
          status === undefined
            ? `no answer within ${target.timeoutMs} ms`
            : `answer not complete within ${target.timeoutMs} ms`,
      });
    }, target.timeoutMs);

    try {
      request = http.request(url, { method: probe.method, headers, agent: target.agent }, (response) => {
        status = response.statusCode;
        contentType = response.headers['content-type'];
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < READ_LIMIT) body += chunk;
          if (probe.stream && contentType?.includes('text/event-stream')) {
            const events = parseEvents(body);
            if (events.some((e) => e.event === 'next' || e.event === 'complete')) finish();
          }
        });
        response.on('end', () => finish());
        response.on('error', (err) => finish(status === undefined ? { dropped: err.message } : {}));
      });
    } catch (err) {
      // Node's client refuses some requests itself (e.g. control characters in a header).
      finish({ unsent: (err as Error).message });
      return;
    }
    const sending = request;
    sending.on('error', (err: NodeJS.ErrnoException) => {
      // Writing a refused body may fail once the server has answered and closed: that is fine.
      if (status === undefined) finish({ dropped: `${err.code ?? ''} ${err.message}`.trim() });
    });
    const { body: payload } = probe;
    if (payload === undefined) sending.end();
    else if (typeof payload === 'string' || Buffer.isBuffer(payload)) sending.end(payload);
    else {
      const source = streamed(payload);
      source.pipe(sending);
      sending.on('close', () => source.destroy());
    }
  });
}
