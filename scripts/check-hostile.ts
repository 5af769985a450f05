// npm run check:hostile -- [--levels 40] [--limit-ms 250] [--body-mb 600] [--rss-limit-mb 20]
//
// Two attacks of issue 9 against a test system of its own (127.0.0.1, free ports), with figures:
//  a) the repeated-fragment document (`{...F0} fragment F0 on Query {...F1 ...F1} …`, 40 levels)
//     over HTTP POST, GET, graphql-ws and SSE must be answered (refused or not) at once;
//  b) a huge body (600 MB, generated while sent) to every endpoint (/graphql, /, /graphql/stream,
//     a subgraph's /graphql) must get 413 while the receiving process's RSS grows by less than
//     the limit.
// A timed script, not a test: it prints what it measured and exits non-zero on any failure. A
// process that stops answering or exits is restarted so the remaining checks still run.
import http from 'node:http';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { uploadHugeBody } from './fuzz/big-body.ts';
import { repeatedFragments } from './fuzz/document-attacks.ts';
import { Client } from '../e2e/support/client.ts';
import { createServiceTokenSigner, SERVICE_TOKEN_HEADER } from '../shared/auth/service-identity.ts';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';

const { values } = parseArgs({
  options: {
    levels: { type: 'string', default: '40' },
    'limit-ms': { type: 'string', default: '250' },
    'body-mb': { type: 'string', default: '600' },
    'rss-limit-mb': { type: 'string', default: '20' },
  },
});
const LEVELS = Number(values.levels);
const LIMIT_MS = Number(values['limit-ms']);
const BODY_BYTES = Number(values['body-mb']) * 1024 * 1024;
const RSS_LIMIT = Number(values['rss-limit-mb']) * 1024 * 1024;
/** How long a check waits before it calls the process frozen. */
const GIVE_UP_MS = 10_000;

interface Row {
  readonly check: string;
  readonly endpoint: string;
  readonly result: string;
  readonly figure: string;
  readonly ok: boolean;
}

/** Time to the answer of a POST or GET; `undefined` when none came before GIVE_UP_MS. */
function httpAnswer(url: string, init: { method: string; headers: Record<string, string>; body?: string }) {
  const started = performance.now();
  return new Promise<{ ms: number; status?: number; body: string }>((resolve) => {
    const request = http.request(
      url,
      { method: init.method, headers: init.headers, agent: false },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        // An event stream may stay open: its first event is the answer.
        response.on('data', (chunk: string) => {
          body += chunk;
          const stream = response.headers['content-type']?.includes('text/event-stream');
          if (stream && /event:[^]*?\n\n/.test(body)) done(response.statusCode, body);
        });
        response.on('end', () => done(response.statusCode, body));
      },
    );
    const timer = setTimeout(() => done(undefined, ''), GIVE_UP_MS);
    const done = (status: number | undefined, body: string) => {
      clearTimeout(timer);
      request.destroy();
      resolve({ ms: Math.round(performance.now() - started), status, body });
    };
    request.on('error', (err) => done(undefined, err.message));
    request.end(init.body);
  });
}

/** Time from `subscribe` to the first message for it (or the socket's close). */
function wsAnswer(url: string, query: string, token?: string) {
  return new Promise<{ ms: number; status?: number; body: string }>((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    let started = 0;
    const timer = setTimeout(() => done(undefined, 'no answer'), GIVE_UP_MS);
    const done = (status: number | undefined, body: string) => {
      clearTimeout(timer);
      socket.terminate();
      resolve({ ms: Math.round(performance.now() - started), status, body });
    };
    socket.on('open', () =>
      socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: token ? { authorization: `Bearer ${token}` } : {},
        }),
      ),
    );
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'connection_ack') {
        started = performance.now();
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      } else if (started) done(101, data.toString());
    });
    socket.on('close', (code, reason) => done(code, reason.toString()));
    socket.on('error', (err) => done(undefined, err.message));
  });
}

async function fragmentChecks(system: TestSystem): Promise<Row[]> {
  const gateway = system.urls.gateway!;
  const query = repeatedFragments(LEVELS);
  // The same shape inside a subscription that passes validation, so it reaches the analysis of
  // the subscription transports too.
  const subscription = query
    .replace(
      '{ ...F0 }',
      'subscription { orderStatusChanged(orderId: "00000000-0000-4000-8000-000000000000") { ...F0 } }',
    )
    .replaceAll('on Query', 'on Order')
    .replace('{ __typename }', '{ id }');
  const json = { 'content-type': 'application/json' };
  // Signed in (anyone can register): the subscription transports check the sign-in first.
  const { token } = await new Client(gateway).registerCustomer('Hostile');
  const sse = (document: string) => () =>
    httpAnswer(`${gateway}/stream`, {
      method: 'POST',
      headers: { ...json, accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: document }),
    });
  const transports: [string, () => Promise<{ ms: number; status?: number; body: string }>][] = [
    [
      'HTTP POST /graphql',
      () => httpAnswer(gateway, { method: 'POST', headers: json, body: JSON.stringify({ query }) }),
    ],
    [
      'HTTP GET /graphql',
      () =>
        httpAnswer(`${gateway}?query=${encodeURIComponent(query)}`, {
          method: 'GET',
          headers: { 'apollo-require-preflight': 'true' },
        }),
    ],
    ['graphql-ws (query)', () => wsAnswer(system.urls.gatewayWs!, query, token)],
    ['graphql-ws (subscription)', () => wsAnswer(system.urls.gatewayWs!, subscription, token)],
    ['SSE POST /graphql/stream (query)', sse(query)],
    ['SSE POST /graphql/stream (subscription)', sse(subscription)],
  ];
  const rows: Row[] = [];
  for (const [endpoint, send] of transports) {
    const answer = await send();
    const answered = answer.status !== undefined;
    rows.push({
      check: `${LEVELS}-level repeated fragments`,
      endpoint,
      result: answered
        ? `${answer.status} ${answer.body.replace(/\s+/g, ' ').slice(0, 90)}`
        : `no answer within ${GIVE_UP_MS} ms`,
      figure: answered ? `${answer.ms} ms` : `> ${GIVE_UP_MS} ms`,
      ok: answered && answer.ms <= LIMIT_MS,
    });
    if (!answered) await revive(system, 'gateway');
  }
  return rows;
}

async function revive(system: TestSystem, id: string): Promise<void> {
  console.error(`${id} is frozen or gone; restarting it`);
  await system.restart(id);
}

/** The connection was reset before any answer could be read (not a timeout). */
const reset = (result: { status?: number; error?: string }) =>
  result.status === undefined && /EPIPE|ECONNRESET|closed with no answer/.test(result.error ?? '');

async function bodyChecks(system: TestSystem): Promise<Row[]> {
  const gateway = system.process('gateway');
  const products = system.process('products');
  const targets: [string, string, typeof gateway, Record<string, string>][] = [
    ['gateway /graphql', `${gateway.baseUrl}/graphql`, gateway, {}],
    ['gateway /', `${gateway.baseUrl}/`, gateway, {}],
    [
      'gateway /graphql/stream',
      `${gateway.baseUrl}/graphql/stream`,
      gateway,
      { accept: 'text/event-stream' },
    ],
    // As the gateway calls it (a subgraph refuses any other caller before reading a byte).
    [
      'products /graphql',
      `${products.baseUrl}/graphql`,
      products,
      {
        [SERVICE_TOKEN_HEADER]: await createServiceTokenSigner(
          system.env.SERVICE_SECRET!,
          'gateway',
        )('products'),
      },
    ],
  ];
  const rows: Row[] = [];
  for (const [endpoint, url, target, headers] of targets) {
    for (const declareLength of [true, false]) {
      if (!target.running) await revive(system, target.id);
      const upload = () =>
        uploadHugeBody({
          url,
          size: BODY_BYTES,
          declareLength,
          headers,
          pid: target.pid!,
          timeoutMs: 120_000,
        });
      // A server that refuses early and closes can reset the connection before its 413 is read
      // (a race in TCP, not a fault): try again before calling it a failure.
      let result = await upload();
      for (let attempt = 1; attempt < 3 && reset(result) && target.running; attempt += 1) {
        result = await upload();
      }
      const exited = !target.running;
      const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
      rows.push({
        check: `${mb(BODY_BYTES)} body, ${declareLength ? 'content-length' : 'chunked'}`,
        endpoint,
        result: `${result.status ?? result.error ?? 'no answer'}${exited ? `; ${target.id} EXITED` : ''} after ${mb(result.sentBytes)} sent in ${result.ms} ms`,
        figure: `RSS +${mb(result.rssGrowthBytes)}`,
        ok: result.status === 413 && result.rssGrowthBytes < RSS_LIMIT && !exited,
      });
    }
  }
  return rows;
}

function print(rows: readonly Row[]): void {
  console.log('| check | endpoint | answer | figure | ok |');
  console.log('| --- | --- | --- | ---: | --- |');
  for (const r of rows)
    console.log(
      `| ${r.check} | ${r.endpoint} | ${r.result.replaceAll('|', '\\|')} | ${r.figure} | ${r.ok ? 'yes' : 'NO'} |`,
    );
}

console.error('starting the system');
const system = await startTestSystem({ env: { RATE_LIMIT_ENABLED: 'false' }, stopTimeoutMs: 3_000 });
let rows: Row[];
try {
  rows = [...(await fragmentChecks(system)), ...(await bodyChecks(system))];
} finally {
  await system.dispose();
}
print(rows);
const failed = rows.filter((r) => !r.ok).length;
console.log(
  failed === 0 ? '\nAll hostile-input checks passed.' : `\n${failed} of ${rows.length} checks failed.`,
);
process.exitCode = failed === 0 ? 0 : 1;
