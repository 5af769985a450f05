// A client still sending its body when the server answers: on one raw TCP connection it sends
// the request head (with `Connection: close` and a Content-Length for the whole body), then the
// body in chunks, one every SEND_EVERY_MS, as a slow upload would. It tells what came back and
// how many chunks had been sent when the server ended the connection: a server that answers
// before the body and ends at once closes under a client still sending, whose next write then
// meets a reset that can destroy the answer before it is read.
import { connect } from 'node:net';

const CHUNK = Buffer.alloc(64 * 1024, 0x20);
/** The pace of the sender, not a wait for an event: the body arrives over time, as from a slow client. */
const SEND_EVERY_MS = 50;

export interface SlowSend {
  /** Everything the server sent back (status line, headers, body). */
  readonly text: string;
  /** How many chunks had been sent when the server ended the connection. */
  readonly closedAfter: number | undefined;
}

/**
 * POSTs to `path` with the extra header lines `headers` (each `Name: value`) and a body of
 * `chunks` chunks of 64 KB, sent slowly; settles once the connection has closed.
 */
export async function sendSlowly(
  target: { readonly host: string; readonly port: number },
  path: string,
  headers: readonly string[],
  chunks = 4,
): Promise<SlowSend> {
  const socket = connect(target.port, target.host);
  let text = '';
  let sent = 0;
  let closedAfter: number | undefined;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  socket.on('end', () => (closedAfter ??= sent));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(
    [
      `POST ${path} HTTP/1.1`,
      `Host: ${target.host}:${target.port}`,
      'Connection: close',
      ...headers,
      `Content-Length: ${chunks * CHUNK.length}`,
      '',
      '',
    ].join('\r\n'),
  );
  for (; sent < chunks; sent++) {
    await new Promise((resolve) => setTimeout(resolve, SEND_EVERY_MS));
    socket.write(CHUNK);
  }
  await closed;
  return { text, closedAfter };
}
