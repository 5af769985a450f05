// A probe and then `{ __typename }` on the same keep-alive connection, over a raw socket: the
// whole first request (a refused body included) is written before its answer is read, as a
// client that does not wait for an early refusal does, so bytes the server left unread sit in
// front of the second request. The second must be answered, or the connection closed.
import net from 'node:net';
import type { HttpProbe, Outcome } from './probe.ts';

const FOLLOW_UP = '{"query":"{ __typename }"}';

interface Parsed {
  readonly status: number;
  readonly body: string;
  /** Where the next response starts. */
  readonly end: number;
}

/** One complete HTTP/1.1 response at the start of `data`, if it is all there. */
export function parseResponse(data: Buffer): Parsed | undefined {
  const head = data.indexOf('\r\n\r\n');
  if (head < 0) return undefined;
  const lines = data.subarray(0, head).toString('latin1').split('\r\n');
  const status = Number(lines[0]?.split(' ')[1]);
  const header = (name: string) =>
    lines
      .find((l) => l.toLowerCase().startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  if (status === 100) {
    const rest = parseResponse(data.subarray(head + 4));
    return rest && { ...rest, end: rest.end + head + 4 };
  }
  const start = head + 4;
  const length = header('content-length');
  if (length !== undefined) {
    const end = start + Number(length);
    return data.length >= end ? { status, body: data.subarray(start, end).toString('utf8'), end } : undefined;
  }
  if (header('transfer-encoding')?.includes('chunked')) {
    let at = start;
    const parts: Buffer[] = [];
    for (;;) {
      const line = data.indexOf('\r\n', at);
      if (line < 0) return undefined;
      const size = parseInt(data.subarray(at, line).toString('latin1'), 16);
      if (size === 0)
        return data.length >= line + 4
          ? { status, body: Buffer.concat(parts).toString('utf8'), end: line + 4 }
          : undefined;
      if (data.length < line + 2 + size + 2) return undefined;
      parts.push(data.subarray(line + 2, line + 2 + size));
      at = line + 2 + size + 2;
    }
  }
  return { status, body: '', end: start };
}

function materialize(body: HttpProbe['body']): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  const prefix = Buffer.from(body.prefix);
  return Buffer.concat([prefix, Buffer.alloc(body.size - prefix.length, body.fill)]);
}

function requestHead(
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  length: number,
): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'host: 127.0.0.1',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  lines.push(`content-length: ${length}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export function sendWithFollowUp(
  probe: HttpProbe,
  baseUrl: string,
  timeoutMs: number,
  authorization?: string,
): Promise<Outcome> {
  const started = performance.now();
  const { port, hostname } = new URL(baseUrl);
  const body = materialize(probe.body);
  const headers = { ...probe.headers, ...(authorization ? { authorization } : {}) };
  return new Promise<Outcome>((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let data = Buffer.alloc(0);
    let first: Parsed | undefined;
    let settled = false;
    const ms = () => Math.round(performance.now() - started);
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const firstOutcome = (): Outcome => ({ status: first?.status, body: first?.body ?? '', ms: ms() });
    const timer = setTimeout(() => {
      if (!first) finish({ body: '', ms: ms(), hung: `no answer within ${timeoutMs} ms` });
      else
        finish({
          ...firstOutcome(),
          followUp: {
            body: '',
            ms: ms(),
            hung: `the next request on the connection was not answered within ${timeoutMs} ms`,
          },
        });
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(requestHead(probe.method, probe.path, headers, body.length));
      socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (!first) {
        first = parseResponse(data);
        if (!first) return;
        data = data.subarray(first.end);
        socket.write(
          requestHead(
            'POST',
            '/graphql',
            { 'content-type': 'application/json' },
            Buffer.byteLength(FOLLOW_UP),
          ) + FOLLOW_UP,
        );
      }
      const second = parseResponse(data);
      if (second)
        finish({ ...firstOutcome(), followUp: { status: second.status, body: second.body, ms: ms() } });
    });
    // The server may close the connection after refusing a request: the client then opens another.
    socket.on('close', () =>
      finish(first ? firstOutcome() : { body: '', ms: ms(), dropped: 'connection closed with no answer' }),
    );
    socket.on('error', () => undefined);
  });
}
