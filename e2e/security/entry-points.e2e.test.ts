// Attacks on the gateway's transport entry points (issue 9): bodies, connections, sockets and
// streams that must be bounded in size, memory and time, and answered with coded errors.
// One real system; small limits set through the environment so each attack is cheap.
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { PUBLIC_ERROR_CODES } from '../../shared/errors.ts';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';
import { sendSlowly } from '../../test/support/slow-sender.ts';
import { Waiters } from '../../test/support/waiters.ts';
import { Client } from '../support/client.ts';
import { LiveSubscription, subscribeSse, subscribeWs, wsClient } from '../support/live.ts';
import { metricsText, seriesSum } from '../support/metrics.ts';

const ONE_MB = 1024 * 1024;
/** A request that is never answered fails its test after this long rather than the suite's. */
const HANG = 20_000;
const METRICS_TOKEN = 'entry-points-metrics-token';
/** Room for every socket the other tests here hold at once, and few enough to reach cheaply. */
const MAX_CONNECTIONS_PER_ADDRESS = 8;

let system: TestSystem;
let client: Client;
let base: URL;
/** The gateway's most recent output lines (its log at debug level, and anything it prints). */
const gatewayLines: string[] = [];
const gatewayPrinted = new Waiters();

beforeAll(async () => {
  system = await startTestSystem({
    env: {
      RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_BURST: '10000',
      SUBSCRIPTION_ANONYMOUS_IDLE_MS: '1500',
      SUBSCRIPTION_CONNECTION_INIT_TIMEOUT_MS: '1000',
      SUBSCRIPTION_MAX_PER_USER: '3',
      SUBSCRIPTION_MAX_PER_CONNECTION: '2',
      SUBSCRIPTION_MAX_CONNECTIONS_PER_ADDRESS: String(MAX_CONNECTIONS_PER_ADDRESS),
      METRICS_TOKEN,
    },
    processEnv: { gateway: { LOG_LEVEL: 'debug' } },
    output: ({ name, line }) => {
      if (name !== 'gateway') return;
      gatewayLines.push(line);
      gatewayLines.splice(0, gatewayLines.length - 2000);
      gatewayPrinted.wake();
    },
  });
  client = new Client(system.urls.gateway!);
  base = new URL(system.urls.gateway!);
});

afterAll(async () => {
  await system?.dispose();
});

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One request with node:http, so the body can be streamed and headers set as an attacker would. */
function send(
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: string | Buffer | ((write: (chunk: Buffer) => boolean) => void),
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: base.hostname, port: base.port, method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    // The server may answer (and close) before the whole body is sent: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    if (typeof body === 'function') {
      body((chunk) => req.write(chunk));
      req.end();
    } else req.end(body);
  });
}

/** The body is `{ errors: [{ message, extensions: { code } }] }` with a public code and no engine text. */
function expectCodedErrors(response: RawResponse): string {
  expect(response.headers['content-type']).toMatch(/application\/json/);
  const body = JSON.parse(response.text) as {
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  expect(body.errors?.length).toBeGreaterThan(0);
  for (const error of body.errors!) {
    expect(typeof error.message).toBe('string');
    expect(PUBLIC_ERROR_CODES.has(error.extensions?.code ?? '')).toBe(true);
    expect(error.message).not.toMatch(/position \d|Unexpected token|Unexpected end|at [^ ]+\.(ts|js):\d/);
  }
  return body.errors![0]!.extensions!.code!;
}

describe('POST /graphql/stream (SSE)', () => {
  const sse = '/graphql/stream';
  const streamHeaders = { 'content-type': 'application/json', accept: 'text/event-stream' };

  it(
    'refuses a body over the limit announced by Content-Length with 413, before reading it',
    async () => {
      const response = await send(
        'POST',
        sse,
        { ...streamHeaders, 'content-length': 200 * ONE_MB },
        (write) => {
          write(Buffer.alloc(64 * 1024, 0x20));
        },
      );
      expect(response.status).toBe(413);
      expect(expectCodedErrors(response)).toBe('BAD_USER_INPUT');
    },
    HANG,
  );

  it(
    'refuses a streamed (chunked) body that grows over the limit with 413',
    async () => {
      const response = await send(
        'POST',
        sse,
        { ...streamHeaders, 'transfer-encoding': 'chunked' },
        (write) => {
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          for (let sent = 0; sent <= 2 * ONE_MB; sent += chunk.length) write(chunk);
        },
      );
      expect(response.status).toBe(413);
      expect(expectCodedErrors(response)).toBe('BAD_USER_INPUT');
    },
    HANG,
  );

  it.each([
    [
      'an invalid token (decided from the headers)',
      ['Authorization: Bearer not.a.token', 'Content-Type: application/json'],
      401,
    ],
    ['a content type it does not serve', ['Content-Type: text/plain'], 415],
  ])(
    'answers %s while the body still comes, and closes a Connection: close socket only after it came',
    async (_what, headers, status) => {
      const { text, closedAfter } = await sendSlowly({ host: base.hostname, port: Number(base.port) }, sse, [
        'Accept: text/event-stream',
        ...headers,
      ]);
      expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(text).toContain('"extensions":{"code":');
      expect(closedAfter).toBe(4);
    },
    HANG,
  );

  it('keeps no single-connection reservation: PUT with a stream token is refused', async () => {
    const token = 'attacker-token';
    const reserve = await send('PUT', sse, { 'x-graphql-event-stream-token': token });
    expect(reserve.status).toBeGreaterThanOrEqual(400);
    expectCodedErrors(reserve);
    // Nothing was kept: an operation sent to that "stream" finds nothing.
    const use = await send(
      'POST',
      sse,
      { 'content-type': 'application/json', 'x-graphql-event-stream-token': token },
      JSON.stringify({
        query: 'subscription { orderStatusChanged(orderId: "x") { id } }',
        extensions: { operationId: '1' },
      }),
    );
    expect(use.status).toBeGreaterThanOrEqual(400);
    expectCodedErrors(use);
  });

  it.each([
    ['bad JSON', 'POST', streamHeaders, '{"query": '],
    ['a JSON body that is not an object', 'POST', streamHeaders, '[1, 2]'],
    ['no query', 'POST', streamHeaders, '{}'],
    ['a query that is not a string', 'POST', streamHeaders, '{"query": 42}'],
    [
      'variables that are not an object',
      'POST',
      streamHeaders,
      '{"query": "subscription { x }", "variables": 3}',
    ],
    [
      'a content type that is not JSON',
      'POST',
      { 'content-type': 'text/plain', accept: 'text/event-stream' },
      'x',
    ],
    ['a method it does not serve', 'DELETE', streamHeaders, undefined],
    ['no event-stream Accept header', 'POST', { 'content-type': 'application/json' }, '{"query": "{ x }"}'],
    ['a GET with unparsable variables', 'GET', { accept: 'text/event-stream' }, undefined],
  ])('answers %s with a coded JSON error', async (_what, method, headers, body) => {
    const path = method === 'GET' ? `${sse}?query=subscription%7Bx%7D&variables=%7B` : sse;
    const response = await send(method, path, headers, body);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expectCodedErrors(response);
  });

  it('still serves a well-formed request after all that', async () => {
    expect((await client.request('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});

describe('keep-alive connections', () => {
  /**
   * Sends `payload` on one raw TCP connection and collects what comes back until the server
   * has answered `answers` times or closed the connection. A connection that does neither is hung.
   */
  function converse(payload: Buffer, answers: number): Promise<{ text: string; closed: boolean }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: base.hostname, port: Number(base.port) });
      let text = '';
      let settled = false;
      const finish = (closed: boolean) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        resolve({ text, closed });
      };
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const complete = text.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0;
        if (complete >= answers && text.trimEnd().endsWith('}')) finish(false);
      });
      socket.on('end', () => finish(true));
      socket.on('close', () => finish(true));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        // A reset after the answer was read is a close; one before it loses the answer.
        if (err.code === 'ECONNRESET' && text.includes('HTTP/1.1 413')) finish(true);
        else if (!settled) reject(err);
      });
      socket.write(payload);
    });
  }

  const request = (body: string | Buffer, contentLength = Buffer.byteLength(body)) =>
    Buffer.concat([
      Buffer.from(
        `POST /graphql HTTP/1.1\r\nHost: ${base.host}\r\nContent-Type: application/json\r\n` +
          `Connection: keep-alive\r\nContent-Length: ${contentLength}\r\n\r\n`,
      ),
      Buffer.from(body),
    ]);

  it(
    'after a 413 for a body over 1 MB, the next request is answered or the connection closed',
    async () => {
      const oversize = Buffer.alloc(2 * ONE_MB, 0x20);
      const next = request(JSON.stringify({ query: '{ __typename }' }));
      const { text, closed } = await converse(Buffer.concat([request(oversize), next]), 2);
      expect(text).toMatch(/^HTTP\/1\.1 413/);
      if (!closed) expect(text).toContain('"__typename":"Query"');
    },
    HANG,
  );

  it(
    'an http.Agent with keep-alive gets an answer to the request after a 413',
    async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const post = (body: Buffer | string) =>
          new Promise<RawResponse>((resolve, reject) => {
            const req = httpRequest(
              {
                host: base.hostname,
                port: base.port,
                method: 'POST',
                path: '/graphql',
                agent,
                headers: { 'content-type': 'application/json' },
              },
              (res) => {
                let text = '';
                res.on('data', (chunk: Buffer) => (text += chunk.toString()));
                res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
              },
            );
            req.on('error', reject);
            req.end(body);
          });
        const refused = await post(Buffer.alloc(2 * ONE_MB, 0x20));
        expect(refused.status).toBe(413);
        expect(expectCodedErrors(refused)).toBe('BAD_USER_INPUT');
        const next = await post(JSON.stringify({ query: '{ __typename }' }));
        expect(next.status).toBe(200);
        expect(JSON.parse(next.text)).toEqual({ data: { __typename: 'Query' } });
      } finally {
        agent.destroy();
      }
    },
    HANG,
  );

  it(
    'refuses an announced oversize body at once, without waiting for it',
    async () => {
      const { text } = await converse(request('{', 10 * ONE_MB), 1);
      // Answered before the announced body arrives (the rest is drained, bounded: shared/http/body.ts).
      expect(text).toMatch(/^HTTP\/1\.1 413/);
    },
    HANG,
  );
});

describe('graphql-ws sockets', () => {
  interface Closed {
    readonly code: number;
    readonly reason: string;
  }

  /** A raw graphql-ws socket, acknowledged; `closed` resolves with the close code. */
  async function acknowledgedSocket(): Promise<{ socket: WebSocket; closed: Promise<Closed> }> {
    const socket = new WebSocket(system.urls.gatewayWs!, 'graphql-transport-ws');
    const closed = new Promise<Closed>((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
      socket.once('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { type: string };
        if (message.type === 'connection_ack') resolve();
        else reject(new Error(`expected connection_ack, got ${data.toString()}`));
      });
      socket.once('error', reject);
    });
    return { socket, closed };
  }

  it.each([
    ['connection_ack', {}],
    ['next', { id: '1', payload: { data: null } }],
    ['error', { id: '1', payload: [{ message: 'x' }] }],
  ])('closes a socket that sends the server-only message %s with 4400 Bad Request', async (type, rest) => {
    const { socket, closed } = await acknowledgedSocket();
    socket.send(JSON.stringify({ type, ...rest }));
    expect((await closed).code).toBe(4400);
  });

  it('closes a socket that never sends connection_init with 4408, after the configured wait', async () => {
    const socket = new WebSocket(system.urls.gatewayWs!, 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => socket.on('close', (c) => resolve(c)));
    expect(code).toBe(4408);
  });

  it(
    'closes with 1013 a socket that sends pings and never reads the pongs, instead of queueing them',
    async () => {
      const { socket, closed } = await acknowledgedSocket();
      let pongs = 0;
      socket.on('message', () => (pongs += 1));
      // Read nothing: every pong (an echo of its ping's payload) waits in the gateway.
      socket.pause();
      const ping = JSON.stringify({ type: 'ping', payload: { x: 'a'.repeat(60 * 1024) } });
      // Past what the kernel's loopback buffers take, and the gateway's 1 MB (its default).
      const pings = Math.ceil((24 * ONE_MB) / ping.length);
      let sent = 0;
      for (; sent < pings && socket.readyState === WebSocket.OPEN; sent++) {
        await new Promise<void>((resolve, reject) =>
          socket.send(ping, (err) => (err ? reject(err) : resolve())),
        );
      }
      socket.resume();
      expect((await closed).code).toBe(1013);
      expect(pongs).toBeLessThan(sent);
    },
    HANG,
  );

  /** A graphql-ws socket on `path`, acknowledged with `token`; or the answer refusing the upgrade. */
  function openSocket(
    path: string,
    token: string,
  ): Promise<{ socket: WebSocket } | { refused: RawResponse }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(new URL(path, system.urls.gatewayWs!), 'graphql-transport-ws');
      socket.once('unexpected-response', (_req, res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ refused: { status: res.statusCode ?? 0, headers: res.headers, text } }),
        );
      });
      socket.once('open', () =>
        socket.send(
          JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
        ),
      );
      socket.once('message', (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') resolve({ socket });
        else reject(new Error(`expected connection_ack, got ${data.toString()}`));
      });
      socket.once('error', reject);
    });
  }

  it('closes a socket that sends a frame over the size limit with 1009, logging one line and no stack', async () => {
    const { socket, closed } = await acknowledgedSocket();
    // The gateway may close while the frame is still being sent: the write error is expected.
    socket.on('error', () => undefined);
    socket.send(JSON.stringify({ type: 'ping', payload: { x: 'a'.repeat(2 * ONE_MB) } }));
    expect((await closed).code).toBe(1009);
    const logged = () => gatewayLines.some((line) => line.includes('WebSocket closed on a client error'));
    await gatewayPrinted.until(logged, () => new Error('the gateway logged no client error'), HANG);
    expect(gatewayLines.filter((line) => /check your implementation|^\s+at /.test(line))).toEqual([]);
  });

  it.each([
    ['without a Sec-WebSocket-Key', 400, 'GET', {}],
    [
      'with a version it does not speak',
      400,
      'GET',
      { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '7' },
    ],
    [
      'by POST',
      405,
      'POST',
      { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
    ],
  ])('answers a WebSocket handshake %s with a coded %i', async (_what, status, method, headers) => {
    const response = await send(method, '/graphql', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      ...headers,
    });
    expect(response.status).toBe(status);
    expect(expectCodedErrors(response)).toBe('BAD_USER_INPUT');
  });

  it('serves a request offering HTTP/2 over cleartext (Upgrade: h2c, as curl --http2 sends) over HTTP/1.1', async () => {
    const response = await send(
      'POST',
      '/graphql',
      {
        'content-type': 'application/json',
        connection: 'Upgrade, HTTP2-Settings',
        upgrade: 'h2c',
        'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
      },
      JSON.stringify({ query: '{ __typename }' }),
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses an upgrade on a path without WebSockets with a coded 404', async () => {
    const { token } = await client.registerCustomer();
    const opened = await openSocket('/no-such-path', token);
    if ('socket' in opened) throw new Error('the upgrade was accepted');
    expect(opened.refused.status).toBe(404);
    expect(expectCodedErrors(opened.refused)).toBe('NOT_FOUND');
  });

  it('refuses sockets past the per-address cap with a coded 429, and takes one again once one closes', async () => {
    const { token } = await client.registerCustomer();
    const held: WebSocket[] = [];
    try {
      let refused: RawResponse | undefined;
      while (!refused && held.length <= MAX_CONNECTIONS_PER_ADDRESS) {
        const opened = await openSocket('/graphql', token);
        if ('socket' in opened) held.push(opened.socket);
        else refused = opened.refused;
      }
      expect(refused?.status).toBe(429);
      expect(expectCodedErrors(refused!)).toBe('RATE_LIMITED');
      expect(held.length).toBeLessThanOrEqual(MAX_CONNECTIONS_PER_ADDRESS);

      const leaving = held.pop()!;
      const left = new Promise((resolve) => leaving.once('close', resolve));
      leaving.close(1000);
      await left;
      // The gateway counts the socket gone when its side of the connection closes, which the
      // client cannot observe: ask again (each attempt awaits its answer) a bounded number of times.
      let again: Awaited<ReturnType<typeof openSocket>> | undefined;
      for (let attempt = 0; attempt < 50 && !(again && 'socket' in again); attempt++) {
        again = await openSocket('/graphql', token);
      }
      expect(again && 'socket' in again).toBe(true);
      if (again && 'socket' in again) held.push(again.socket);
    } finally {
      for (const socket of held) socket.terminate();
    }
  });

  it(
    'closes an anonymous socket that stays open without subscribing',
    async () => {
      const { closed } = await acknowledgedSocket();
      const { code } = await closed;
      expect(code).toBe(1008);
    },
    HANG,
  );
});

describe('live subscription caps', () => {
  const lives: LiveSubscription[] = [];
  const sockets: WsClient[] = [];

  afterEach(async () => {
    for (const live of lives.splice(0)) live.close();
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });

  async function customerWithOrder(): Promise<{ token: string; orderId: string }> {
    const admin = await client.adminToken();
    const product = await client.createProduct(admin, { priceCents: 500, stock: 10 });
    const customer = await client.registerCustomer();
    const placed = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    expect(placed.errors).toBeUndefined();
    return { token: customer.token, orderId: placed.data!.placeOrder.id };
  }

  function socketOf(token: string): WsClient {
    const socket = wsClient(system.urls.gatewayWs!, token);
    sockets.push(socket);
    return socket;
  }

  function watch(live: LiveSubscription): LiveSubscription {
    lives.push(live);
    return live;
  }

  const started = (live: LiveSubscription) => live.until((l) => l.results.length > 0, 'the current state');

  async function refusedCode(live: LiveSubscription): Promise<string | undefined> {
    // graphql-ws ends with the errors; SSE sends them in one result, then completes.
    const ending = await live.ended();
    const errors = (ending.kind === 'error' ? ending.error : live.results[0]?.errors) as
      { extensions?: { code?: string } }[] | undefined;
    return errors?.[0]?.extensions?.code;
  }

  it('refuses a subscription over the per-connection cap, and keeps nothing of it', async () => {
    const { token, orderId } = await customerWithOrder();
    const socket = socketOf(token);
    const first = watch(subscribeWs(socket, { id: orderId }));
    const second = watch(subscribeWs(socket, { id: orderId }));
    await Promise.all([started(first), started(second)]);
    expect(await refusedCode(watch(subscribeWs(socket, { id: orderId })))).toBe('RATE_LIMITED');
    // The refused one took no slot; closing one frees one.
    first.close();
    await started(watch(subscribeWs(socket, { id: orderId })));
    expect(second.ending).toBeUndefined();
  });

  it('refuses a subscription over the per-user cap, counted across sockets and SSE', async () => {
    const { token, orderId } = await customerWithOrder();
    const a = socketOf(token);
    const held = [
      watch(subscribeWs(a, { id: orderId })),
      watch(subscribeWs(a, { id: orderId })),
      watch(subscribeSse(`${base.origin}/graphql/stream`, token, { id: orderId })),
    ];
    await Promise.all(held.map(started));
    const b = socketOf(token);
    expect(await refusedCode(watch(subscribeWs(b, { id: orderId })))).toBe('RATE_LIMITED');
    expect(
      await refusedCode(watch(subscribeSse(`${base.origin}/graphql/stream`, token, { id: orderId }))),
    ).toBe('RATE_LIMITED');
    held[2]!.close();
    await started(watch(subscribeWs(b, { id: orderId })));
  });

  it('runs one execution per event for subscribers that differ only in the operation name', async () => {
    const { token, orderId } = await customerWithOrder();
    const socket = socketOf(token);
    const named = (name: string) =>
      `subscription ${name}($id: ID!) { orderStatusChanged(orderId: $id) { id status } }`;
    const one = watch(subscribeWs(socket, { id: orderId }, named('One')));
    const two = watch(subscribeWs(socket, { id: orderId }, named('Two')));
    await Promise.all([one.untilStatus('CONFIRMED'), two.untilStatus('CONFIRMED')]);
    const before = await executions();
    const admin = await client.adminToken();
    await client.data('mutation($id: ID!) { shipOrder(id: $id) { status } }', { id: orderId }, admin);
    await Promise.all([one.untilStatus('SHIPPED'), two.untilStatus('SHIPPED')]);
    expect((await executions()) - before).toBe(1);
  });
});

/** The gateway's count of subscription executions, from /metrics. */
async function executions(): Promise<number> {
  const text = await metricsText(base.origin, { authorization: `Bearer ${METRICS_TOKEN}` });
  if (!/^gateway_subscription_executions_total[{ ]/m.test(text))
    throw new Error('no gateway_subscription_executions_total on /metrics');
  return seriesSum(text, 'gateway_subscription_executions_total');
}

describe('/metrics', () => {
  const targets = () => [
    `${base.origin}/metrics`,
    new URL('/metrics', system.urls.subgraphs.users!).toString(),
  ];

  it('answers 401 without the metrics token, on the gateway and on a subgraph', async () => {
    for (const url of targets()) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token' }]) {
        const response = await fetch(url, { headers });
        expect(response.status).toBe(401);
        const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
        expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      }
    }
  });

  it('serves the metrics with the token', async () => {
    for (const url of targets()) {
      const response = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('# HELP');
    }
  });
});

describe('the shared HTTP server', () => {
  it('answers an unknown path with a coded 404, on the gateway and on a subgraph', async () => {
    for (const origin of [base.origin, new URL(system.urls.subgraphs.users!).origin]) {
      const response = await fetch(`${origin}/no-such-path`);
      const raw: RawResponse = {
        status: response.status,
        headers: { 'content-type': response.headers.get('content-type') ?? undefined },
        text: await response.text(),
      };
      expect(raw.status).toBe(404);
      expect(expectCodedErrors(raw)).toBe('NOT_FOUND');
    }
  });
});
