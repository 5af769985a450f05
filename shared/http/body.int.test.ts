// A refused body over real sockets: the client that is still sending reads the 413 (no EPIPE or
// reset before it), and one that sends far more than the limit is cut off, not read forever.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES, TOO_LARGE, readLimitedBody, sendBodyTooLarge } from './body.ts';
import { sendErrors } from './responses.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server whose one endpoint reads its body with the limit, as /graphql does. */
async function start(): Promise<number> {
  const server = createServer((req, res) => {
    void readLimitedBody(req).then((body) => {
      if (body === TOO_LARGE) sendBodyTooLarge(req, res);
      else sendErrors(res, 200, 'BAD_USER_INPUT' as never, `read ${body.length} bytes`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * POSTs `size` bytes with a Content-Length, writing as fast as the socket takes them; settles
 * when the request is closed, with the status read and any error on the way (EPIPE, reset).
 */
function postBytes(
  port: number,
  size: number,
  keepAlive = true,
): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const outcome: { status: number; error?: string } = { status: 0 };
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        headers: { 'content-length': size },
        // Without an agent, Node's client asks for `Connection: close`.
        ...(keepAlive ? {} : { agent: false }),
      },
      (res) => {
        outcome.status = res.statusCode ?? 0;
        res.resume();
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => (outcome.error = err.code));
    req.on('close', () => resolve(outcome));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe('a body over the limit', () => {
  it('is answered 413, and a client still sending reads that answer without a broken pipe', async () => {
    const port = await start();
    // A pipe broken before the answer is read shows on some sends, not all: send several.
    for (const size of Array.from({ length: 15 }, (_, i) => (1 + (i % 4)) * MAX_BODY_BYTES + 1)) {
      expect(await postBytes(port, size)).toEqual({ status: 413 });
    }
  });

  it('is answered 413 and read by a client that asked for Connection: close', async () => {
    const port = await start();
    for (const size of Array.from({ length: 15 }, (_, i) => (1 + (i % 4)) * MAX_BODY_BYTES + 1)) {
      expect(await postBytes(port, size, false)).toEqual({ status: 413 });
    }
  });

  it('cuts a connection that goes on sending far more than the limit', async () => {
    const port = await start();
    const socket = connect({ port, host: '127.0.0.1' });
    const ended = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', () => undefined);
    });
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${1024 * MAX_BODY_BYTES}\r\n\r\n`);
    const chunk = Buffer.alloc(MAX_BODY_BYTES, 0x20);
    // Far past what is drained, written without waiting: the server must cut the connection.
    const writeMore = () => {
      if (socket.destroyed) return;
      if (socket.write(chunk)) setImmediate(writeMore);
      else socket.once('drain', writeMore);
    };
    writeMore();
    expect(await ended).toMatch(/^HTTP\/1\.1 413/);
  });
});
