// The gateway in-process in front of a real users subgraph (PostgreSQL and NATS), spoken to
// over real HTTP. Several gateways share the one users subgraph, each configured for what it
// proves: defaults, strict query limits, a tiny rate limit, and a broken subgraph. Every test
// makes what it needs (an account, its refused queries, an unreachable subgraph): each passes
// alone and in any order.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { createLogger } from '../../shared/logger.ts';

import { startTestUsers, testEnvironment, type TestUsers } from '../../test/support/subgraph.ts';
import { dropTestResources } from '../../test/support/system.ts';
import { readGatewayConfig } from '../src/config.ts';
import { startGateway, type RunningGateway } from '../src/server.ts';
import { freePort } from '../../scripts/lib/ports.ts';

const env = testEnvironment();
const logger = createLogger('gateway-test', process.env.LOG_LEVEL ?? 'silent');
const tmpFiles: string[] = [];
const gateways: RunningGateway[] = [];
let users: TestUsers | undefined;
let stub: Server | undefined;
/** The headers of the last request the stub subgraph received. */
let stubHeaders: Record<string, string | string[] | undefined> = {};

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function writeSupergraph(usersUrl: string): Promise<string> {
  const result = composeServices([
    {
      name: 'users',
      url: usersUrl,
      typeDefs: parse(
        readFileSync(new URL('../../subgraphs/users/src/schema.graphql', import.meta.url), 'utf8'),
      ),
    },
  ]);
  if (result.errors) throw new Error(result.errors.map(String).join('\n'));
  const file = path.join(os.tmpdir(), `supergraph-${env.id}-${randomBytes(4).toString('hex')}.graphql`);
  tmpFiles.push(file);
  await writeFile(file, result.supergraphSdl);
  return file;
}

async function gateway(
  supergraphPath: string,
  extraEnv: Record<string, string> = {},
): Promise<RunningGateway> {
  const config = readGatewayConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    NATS_URL: env.resources.natsUrl,
    USERS_JWKS_URL: users!.jwksUrl,
    SUPERGRAPH_PATH: supergraphPath,
    RATE_LIMIT_BURST: '100000',
    ...extraEnv,
  });
  const running = await startGateway(config, logger);
  gateways.push(running);
  return running;
}

async function post(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: GraphQLBody }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLBody };
}

const REGISTER = `mutation ($input: RegisterInput!) { register(input: $input) { token user { id email role } } }`;
const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }`;
const ME = '{ me { id email name role } }';

/** The supergraph file: the users subgraph at its real address. */
let supergraph: string;
let main: RunningGateway;
let strict: RunningGateway;
let limited: RunningGateway;
let broken: RunningGateway;
/** A gateway whose users subgraph is a stub that answers, answers 503, or never answers. */
let flaky: RunningGateway;
let flakyStub: Server | undefined;
let flakyMode: 'ok' | '503' | 'hang' = 'ok';
let flakyRequests = 0;

beforeAll(async () => {
  users = await startTestUsers(env);
  supergraph = await writeSupergraph(users.service.url);
  main = await gateway(supergraph);
  strict = await gateway(supergraph, {
    MAX_QUERY_DEPTH: '2',
    MAX_QUERY_ALIASES: '3',
    MAX_QUERY_COST: '12',
    MAX_QUERY_BYTES: '400',
  });
  limited = await gateway(supergraph, { RATE_LIMIT_BURST: '2', RATE_LIMIT_PER_MINUTE: '1' });
  // A "users" subgraph that leaks everything a real one might: SQL, hosts, stack traces.
  stub = createServer((req, res) => {
    stubHeaders = req.headers;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        data: { me: null },
        errors: [
          {
            message: 'relation "users" does not exist: SELECT * FROM users (db.internal:5432)',
            path: ['me'],
            extensions: {
              code: 'DATABASE_ERROR',
              stacktrace: ['at Pool.query (pg.js:1)'],
              host: 'db.internal',
            },
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => stub!.listen(0, '127.0.0.1', resolve));
  const stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/graphql`;
  // The supergraph file points at the real subgraph; USERS_URL overrides it.
  broken = await gateway(supergraph, { USERS_URL: stubUrl });
  flakyStub = createServer((req, res) => {
    flakyRequests += 1;
    req.resume();
    if (flakyMode === 'hang') return;
    const status = flakyMode === 'ok' ? 200 : 503;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(flakyMode === 'ok' ? { data: { me: null } } : { errors: [{ message: 'down' }] }));
  });
  await new Promise<void>((resolve) => flakyStub!.listen(0, '127.0.0.1', resolve));
  flaky = await gateway(supergraph, {
    USERS_URL: `http://127.0.0.1:${(flakyStub.address() as AddressInfo).port}/graphql`,
    SUBGRAPH_TIMEOUT_MS_USERS: '300',
    BREAKER_FAILURE_THRESHOLD: '2',
    BREAKER_COOLDOWN_MS: '200',
  });
}, 60_000);

afterAll(async () => {
  const results = await Promise.allSettled([
    ...gateways.map((g) => g.stop()),
    new Promise<void>((resolve) => {
      if (!stub?.listening) return resolve();
      stub.close(() => resolve());
      stub.closeAllConnections();
    }),
    new Promise<void>((resolve) => {
      if (!flakyStub?.listening) return resolve();
      flakyStub.close(() => resolve());
      flakyStub.closeAllConnections();
    }),
  ]);
  results.push(
    ...(await Promise.allSettled([
      users?.stop() ?? Promise.resolve(),
      ...tmpFiles.map((file) => rm(file, { force: true })),
    ])),
  );
  // Drops the test's databases (WITH (FORCE)) and NATS streams.
  results.push(...(await Promise.allSettled([dropTestResources(env.resources)])));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}, 60_000);

/** A new customer, registered through the main gateway. */
async function signedUp(): Promise<{ email: string; password: string; token: string }> {
  const email = `gw-${randomBytes(6).toString('hex')}@example.com`;
  const password = 'correct horse battery';
  const registered = await post(main.url, REGISTER, {
    variables: { input: { email, password, name: 'Gee' } },
  });
  if (!registered.body.data) throw new Error(JSON.stringify(registered.body.errors));
  return { email, password, token: (registered.body.data.register as { token: string }).token };
}

describe('through the gateway', () => {
  it('registers, signs in and answers me with the forwarded token', async () => {
    const email = `gw-${randomBytes(6).toString('hex')}@example.com`;
    const password = 'correct horse battery';
    const registered = await post(main.url, REGISTER, {
      variables: { input: { email, password, name: 'Gee' } },
    });
    expect(registered.status).toBe(200);
    expect(registered.body.errors).toBeUndefined();
    const payload = registered.body.data!.register as {
      token: string;
      user: { id: string; email: string; role: string };
    };
    expect(payload.user).toMatchObject({ email, role: 'CUSTOMER' });

    const login = await post(main.url, LOGIN, { variables: { email, password } });
    expect(login.body.errors).toBeUndefined();
    const token = (login.body.data!.login as { token: string }).token;

    const me = await post(main.url, ME, { token });
    expect(me.body).toEqual({ data: { me: { id: payload.user.id, email, name: 'Gee', role: 'CUSTOMER' } } });

    const anonymous = await post(main.url, ME);
    expect(anonymous.body).toEqual({ data: { me: null } });
  });

  it("keeps a subgraph's error codes and drops serviceName", async () => {
    const { email, password, token } = await signedUp();
    const wrong = await post(main.url, LOGIN, { variables: { email, password: 'wrong password!' } });
    expect(wrong.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });

    const duplicate = await post(main.url, REGISTER, {
      variables: { input: { email, password, name: 'Again' } },
    });
    expect(duplicate.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const other = await post(main.url, '{ user(id: "00000000-0000-0000-0000-000000000000") { id } }', {
      token,
    });
    expect(other.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify([wrong.body, duplicate.body, other.body])).not.toMatch(/serviceName/);
  });

  it('refuses an invalid or expired token with 401 UNAUTHENTICATED', async () => {
    const { token } = await signedUp();
    const forged = `${token.slice(0, -4)}AAAA`;
    for (const authorization of [`Bearer ${forged}`, 'Bearer not.a.jwt', 'Basic dXNlcjpwYXNz']) {
      const response = await post(main.url, ME, { headers: { authorization } });
      expect(response.status).toBe(401);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(response.body.data).toBeUndefined();
    }
  });

  it('echoes the request id', async () => {
    const response = await post(main.url, '{ __typename }', { headers: { 'x-request-id': 'req-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-123');
  });

  it('reuses keep-alive connections to the subgraph', async () => {
    const { token } = await signedUp();
    for (let i = 0; i < 20; i += 1) {
      expect((await post(main.url, ME, { token })).status).toBe(200);
    }
    const metrics = await (await fetch(new URL('/metrics', main.url))).text();
    const line = metrics.split('\n').find((l) => l.startsWith('gateway_subgraph_connections_opened_total{'));
    expect(line).toContain('subgraph="users"');
    // Every call so far (at least 21) went over the connection(s) opened for the first ones.
    expect(Number(line!.split(' ').pop())).toBeLessThanOrEqual(2);
    expect(metrics).toMatch(/graphql_operations_total\{[^}]*operation="query.me"/);
  });
});

describe('browsers', () => {
  it('serves Apollo Sandbox to a browser at / and /graphql', async () => {
    for (const url of [new URL('/', main.url), main.url]) {
      const response = await fetch(url, { headers: { accept: 'text/html,application/xhtml+xml' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      expect(await response.text()).toMatch(/embeddable-sandbox|EmbeddedSandbox/);
    }
  });

  it('answers GraphQL posted to / (where Sandbox opened at http://localhost:4000/ sends it)', async () => {
    const response = await post(new URL('/', main.url).toString(), '{ __typename }');
    expect(response.body).toEqual({ data: { __typename: 'Query' } });
  });

  it("lets Apollo Studio's preflight in and keeps other origins out", async () => {
    const preflight = (origin: string) =>
      fetch(main.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,apollo-require-preflight',
        },
      });
    const studio = await preflight('https://studio.apollographql.com');
    expect(studio.status).toBe(204);
    expect(studio.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    expect(studio.headers.get('access-control-allow-methods')).toContain('POST');
    expect(studio.headers.get('access-control-allow-headers')).toEqual(
      expect.stringContaining('authorization'),
    );
    expect(studio.headers.get('access-control-allow-headers')).toContain('apollo-require-preflight');

    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();

    const actual = await fetch(main.url, {
      method: 'POST',
      headers: { origin: 'https://studio.apollographql.com', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(actual.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
  });

  it('refuses a GET query that a browser could send cross-site (CSRF prevention)', async () => {
    const url = `${main.url}?query=${encodeURIComponent('{ __typename }')}`;
    const simple = await fetch(url);
    expect(simple.status).toBe(400);
    expect(await simple.text()).toMatch(/CSRF/i);

    const preflighted = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
    expect(await preflighted.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('limits', () => {
  const expectTooComplex = (response: Awaited<ReturnType<typeof post>>, limit: string, message: RegExp) => {
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors![0]!.message).toMatch(message);
    expect(response.body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit });
  };

  /** A query over each of the strict gateway's limits. */
  const overLimit = {
    depth: () => post(strict.url, LOGIN, { variables: { email: 'a@b.c', password: 'x' } }),
    aliases: () => post(strict.url, '{ a: me { id } b: me { id } c: me { id } d: me { id } }'),
    // 3 × (me + id, name, email, role) = 15 > 12
    cost: () =>
      post(
        strict.url,
        '{ a: me { id name email role } b: me { id name email role } c: me { id name email role } }',
      ),
    size: () => post(strict.url, `{ me { id } } ${'#'.repeat(500)}`),
  };

  it('refuses a query deeper than the limit', async () => {
    expect((await post(strict.url, '{ me { id } }')).body.errors).toBeUndefined();
    expectTooComplex(await overLimit.depth(), 'depth', /3 levels deep; the limit is 2/);
  });

  it('refuses too many aliases', async () => {
    expectTooComplex(await overLimit.aliases(), 'aliases', /4 aliases; the limit is 3/);
  });

  it('refuses a query over the cost budget', async () => {
    expectTooComplex(await overLimit.cost(), 'cost', /cost 15; the budget is 12/);
  });

  it('refuses a query text over the size limit', async () => {
    expectTooComplex(await overLimit.size(), 'size', /bytes long; the limit is 400/);
  });

  it('counts refusals in /metrics', async () => {
    const rejected = async (): Promise<Record<string, number>> => {
      const metrics = await (await fetch(new URL('/metrics', strict.url))).text();
      const counts: Record<string, number> = {};
      for (const limit of Object.keys(overLimit)) {
        const line = new RegExp(
          `^gateway_queries_rejected_total\\{[^}]*limit="${limit}"[^}]*\\} (\\d+)$`,
          'm',
        );
        counts[limit] = Number(line.exec(metrics)?.[1] ?? 0);
      }
      return counts;
    };
    const before = await rejected();
    for (const refuse of Object.values(overLimit)) expect((await refuse()).status).toBe(400);
    const after = await rejected();
    for (const limit of Object.keys(overLimit)) expect(after[limit]).toBe(before[limit]! + 1);
  });

  it('rate-limits a client with 429 RATE_LIMITED and Retry-After', async () => {
    expect((await post(limited.url, '{ __typename }')).status).toBe(200);
    expect((await post(limited.url, '{ __typename }')).status).toBe(200);
    const refused = await post(limited.url, '{ __typename }');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // A signed-in client has a bucket of its own.
    const customer = await users!.customerToken();
    expect((await post(limited.url, ME, { token: customer })).status).toBe(200);
    const metrics = await (await fetch(new URL('/metrics', limited.url))).text();
    expect(metrics).toMatch(/gateway_rate_limited_total\{[^}]*\} 1/);
  });
});

describe('a failing subgraph', () => {
  it('receives the verified token, the request id and the trace, and no identity header', async () => {
    const token = await users!.customerToken();
    const traceId = randomBytes(16).toString('hex');
    await post(broken.url, ME, {
      token,
      headers: {
        'x-request-id': 'req-forwarded',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        'x-user-id': 'forged-admin',
        cookie: 'session=secret',
      },
    });
    expect(stubHeaders.authorization).toBe(`Bearer ${token}`);
    expect(stubHeaders['x-request-id']).toBe('req-forwarded');
    expect(stubHeaders.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(stubHeaders.traceparent).not.toContain('00f067aa0ba902b7');
    expect(stubHeaders['x-user-id']).toBeUndefined();
    expect(stubHeaders.cookie).toBeUndefined();
    expect(stubHeaders.connection).not.toBe('close');
  });

  it('masks internal errors: no SQL, host names, stack or service name', async () => {
    const response = await post(broken.url, ME);
    expect(response.body.errors).toEqual([
      { message: 'Internal server error', path: ['me'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
  });

  it('names an unreachable subgraph SUBGRAPH_UNAVAILABLE, and nothing of where it is', async () => {
    // A gateway of its own, whose users subgraph is a port nobody listens on.
    const unreachable = await gateway(supergraph, {
      USERS_URL: `http://127.0.0.1:${await freePort()}/graphql`,
    });
    const response = await post(unreachable.url, ME);
    expect(response.body.data).toEqual({ me: null });
    expect(response.body.errors?.map((e) => e.extensions)).toEqual([
      { code: 'SUBGRAPH_UNAVAILABLE', service: 'users' },
    ]);
    expect(JSON.stringify(response.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|fetch failed|:\d{4,5}/);
  });
});

describe('a subgraph that is unavailable or too slow', () => {
  it('is SUBGRAPH_UNAVAILABLE; its breaker opens, fails calls at once, and closes after a good probe', async () => {
    const unavailable = { me: null };
    const expectUnavailable = (body: GraphQLBody) => {
      expect(body.data).toEqual(unavailable);
      expect(body.errors?.map((e) => e.extensions)).toEqual([
        { code: 'SUBGRAPH_UNAVAILABLE', service: 'users' },
      ]);
    };
    flakyMode = '503';
    expectUnavailable((await post(flaky.url, ME)).body);
    flakyMode = 'hang';
    expectUnavailable((await post(flaky.url, ME)).body);
    const metrics = async () => (await fetch(new URL('/metrics', flaky.url))).text();
    expect(await metrics()).toMatch(/gateway_subgraph_unavailable_total\{[^}]*reason="timeout"[^}]*\} 1/);
    expect(await metrics()).toMatch(/gateway_subgraph_breaker_state\{[^}]*\} 2/);

    // Open: the call fails without reaching the subgraph.
    const reached = flakyRequests;
    expectUnavailable((await post(flaky.url, ME)).body);
    expect(flakyRequests).toBe(reached);

    // Back: once the cool-down is over, the next call is the probe, and it closes the breaker.
    flakyMode = 'ok';
    const breaker = async () => {
      const body = (await (await fetch(new URL('/health/ready', flaky.url))).json()) as {
        checks: { name: string; detail?: Record<string, { state: string; retryInMs?: number }> }[];
      };
      return body.checks.find((c) => c.name === 'subgraphs')!.detail!.users!;
    };
    for (let wait = (await breaker()).retryInMs ?? 0; wait > 0; wait = (await breaker()).retryInMs ?? 0)
      await new Promise((resolve) => setTimeout(resolve, wait));
    expect((await post(flaky.url, ME)).body).toEqual({ data: unavailable });
    expect(flakyRequests).toBe(reached + 1);
    expect((await breaker()).state).toBe('closed');
    expect(await metrics()).toMatch(/gateway_subgraph_breaker_state\{[^}]*\} 0/);
  });
});

describe('health', () => {
  it('is live, and ready once the supergraph is loaded and NATS answers', async () => {
    expect((await fetch(new URL('/health/live', main.url))).status).toBe(200);
    const ready = await fetch(new URL('/health/ready', main.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: [
        { name: 'supergraph', ok: true },
        { name: 'nats', ok: true },
        // Passes whatever the breakers' states: the gateway answers what it can.
        { name: 'subgraphs', ok: true, detail: { users: { state: 'closed', failures: 0 } } },
      ],
    });
  });
});
