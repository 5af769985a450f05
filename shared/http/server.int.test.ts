// The shared HTTP server of every process, on a real socket: time limits and /metrics access.
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '../logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { closeServer, createHttpServer, listen, type HttpServerOptions } from './server.ts';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => closeServer(s, 100)));
});

async function start(extra: Partial<HttpServerOptions> & Record<string, unknown>): Promise<number> {
  const options = {
    logger: createLogger('test', 'silent'),
    metrics: createMetrics('test'),
    readiness: [],
    routes: {
      '/echo': (req, res) => {
        let size = 0;
        req.on('data', (chunk: Buffer) => (size += chunk.length));
        req.on('end', () => res.end(String(size)));
      },
    },
    ...extra,
  } as HttpServerOptions;
  const server = createHttpServer(options);
  servers.push(server);
  return listen(server, 0, '127.0.0.1');
}

describe('createHttpServer', () => {
  it('cuts off a request whose body arrives too slowly (408, connection closed)', async () => {
    const port = await start({ requestTimeoutMs: 1000 });
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
    // One byte at a time, for as long as the server lets it.
    const drip = setInterval(() => socket.write('a'), 100);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    clearInterval(drip);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 20_000);

  it('answers what is not a readable HTTP request with a coded JSON error, then closes', async () => {
    const port = await start({ requestTimeoutMs: 1000 });
    const answerTo = (raw: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        socket.on('close', () => resolve(answer));
        socket.on('error', () => undefined);
        socket.write(raw);
      });
    const headersTooLarge = await answerTo(
      `GET /health/live?q=${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    const garbage = await answerTo('NOT HTTP AT ALL\r\n\r\n');
    const tooSlow = await answerTo('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n');
    for (const [answer, status] of [
      [headersTooLarge, 431],
      [garbage, 400],
      [tooSlow, 408],
    ] as const) {
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
        errors: { message: string; extensions: { code: string } }[];
      };
      expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    }
  }, 20_000);

  it('keeps an idle keep-alive connection past the request time limit', async () => {
    const port = await start({ requestTimeoutMs: 500 });
    const socket = connect(port, '127.0.0.1');
    // Everything the server sends, from the first byte: an answer sent while the connection is
    // idle (a 408) must not be lost, and a connection the server closes fails the test at once,
    // saying what came, rather than leaving it waiting for an answer that cannot come.
    let received = '';
    let closed = false;
    const changed = new Set<() => void>();
    const notify = () => changed.forEach((f) => f());
    socket.on('data', (chunk: Buffer) => ((received += chunk.toString()), notify()));
    socket.on('close', () => ((closed = true), notify()));
    socket.on('error', () => undefined);
    const statusLines = () => received.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
    const answered = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (statusLines().length >= n) resolve();
          else if (closed) reject(new Error(`the server closed the connection after: ${received}`));
          else return;
          changed.delete(check);
        };
        changed.add(check);
        check();
      });
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await answered(1);
    // Idle for longer than the request limit: a wait on purpose, the point of the test.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await answered(2);
    socket.destroy();
    expect(statusLines()).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
  });

  it('serves /metrics only with the bearer token when one is set', async () => {
    const port = await start({ metricsToken: 'a-metrics-token-long-enough' });
    const url = `http://127.0.0.1:${port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: 'Bearer a-metrics-token-long-enough' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# HELP');
  });

  it('leaves /metrics open without a token (development)', async () => {
    const port = await start({ metricsToken: undefined });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  });
});
