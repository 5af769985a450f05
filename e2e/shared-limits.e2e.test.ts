// Two gateway instances with the same REDIS_URL enforce one rate limit and one login throttle
// per client, whichever instance each request reaches; without REDIS_URL each instance keeps
// its own, as before. The gateways trust one X-Forwarded-For hop, so each test speaks from
// addresses of its own (documentation ranges, RFC 5737).
import { request as httpRequest } from 'node:http';
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import {
  deleteKeys,
  startOwnRedis,
  TEST_REDIS_URL,
  testKeyPrefix,
  type OwnRedis,
} from '../test/support/redis.ts';

const BURST = 6;
const FREE_ATTEMPTS = 2;
const LIMITS = {
  TRUSTED_PROXY_HOPS: '1',
  RATE_LIMIT_BURST: String(BURST),
  // One token a minute: nothing refills while the test runs.
  RATE_LIMIT_PER_MINUTE: '1',
  LOGIN_THROTTLE_FREE_ATTEMPTS: String(FREE_ATTEMPTS),
};
const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }';

interface Answer {
  readonly status: number;
  readonly code: unknown;
  readonly retryAfter: string | null;
}

async function send(
  url: string,
  address: string,
  query: string,
  variables?: object,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: { extensions?: { code?: unknown } }[] };
  return {
    status: response.status,
    code: body.errors?.[0]?.extensions?.code,
    retryAfter: response.headers.get('retry-after'),
  };
}

const gatewayUrls = (system: TestSystem) => [
  system.process('gateway').graphqlUrl,
  system.process('gateway#2').graphqlUrl,
];

/** `count` queries from `address`, alternating between the gateways. */
async function queries(urls: readonly string[], address: string, count: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await send(urls[i % urls.length]!, address, '{ __typename }'));
  return answers;
}

/** How long a POST whose body never comes waits for an answer before it counts as unanswered. */
const ANSWER_WAIT_MS = 10_000;

/**
 * A POST that announces a 512 KB body but sends only its first bytes, then waits for an answer:
 * one that comes was decided before the body was read. After ANSWER_WAIT_MS without one, the
 * answer is `{ status: 0 }`: the server is waiting for the body.
 */
function postWithoutBody(
  url: string,
  address: string,
  firstBytes: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': 512 * 1024,
          'x-forwarded-for': address,
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          clearTimeout(unanswered);
          const body = JSON.parse(text) as { errors?: { extensions?: { code?: unknown } }[] };
          resolve({
            status: res.statusCode ?? 0,
            code: body.errors?.[0]?.extensions?.code,
            retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
          });
          req.destroy();
        });
      },
    );
    const unanswered = setTimeout(() => {
      resolve({ status: 0, code: undefined, retryAfter: null });
      req.destroy();
    }, ANSWER_WAIT_MS);
    req.on('error', (err) => {
      clearTimeout(unanswered);
      reject(err);
    });
    req.write(firstBytes);
  });
}

/** An SSE subscription's POST whose body never comes (postWithoutBody). */
const ssePostWithoutBody = (url: string, address: string, headers: Record<string, string> = {}) =>
  postWithoutBody(url, address, '{"query":"subscription', { accept: 'text/event-stream', ...headers });

/** A GraphQL query's POST to /graphql whose body never comes (postWithoutBody). */
const queryPostWithoutBody = (url: string, address: string, headers: Record<string, string> = {}) =>
  postWithoutBody(url, address, '{"query":"{ __typename', headers);

const BAD_TOKEN = { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.AAAA' };

/**
 * BURST + 1 requests with a malformed token, from one address: BURST answers of 401
 * UNAUTHENTICATED, then 429, as each spent a token of the address's limit.
 */
async function expectChargedToAddress(request: (i: number) => Promise<Answer>): Promise<void> {
  const answers: Answer[] = [];
  for (let i = 0; i <= BURST; i++) answers.push(await request(i));
  expect(answers.slice(0, BURST).map((a) => [a.status, a.code])).toEqual(
    Array.from({ length: BURST }, () => [401, 'UNAUTHENTICATED']),
  );
  expect(answers.at(-1)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
}

describe('two gateways with the same REDIS_URL', () => {
  const prefix = testKeyPrefix();
  let system: TestSystem;
  let urls: string[];

  beforeAll(async () => {
    system = await startTestSystem({
      processes: ['users', 'gateway'],
      instances: { gateway: 2 },
      env: { ...LIMITS, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix },
    });
    urls = gatewayUrls(system);
  });

  afterAll(async () => {
    await system?.dispose();
    await deleteKeys(prefix);
  });

  it('share one rate limit per client: the burst spread over both, then 429 RATE_LIMITED with Retry-After', async () => {
    const started = Date.now();
    const answers = await queries(urls, '198.51.100.1', BURST + 2);
    const elapsedSeconds = Math.ceil((Date.now() - started) / 1000);
    expect(answers.slice(0, BURST).map((a) => a.status)).toEqual(Array<number>(BURST).fill(200));
    for (const refused of answers.slice(BURST)) {
      expect(refused).toEqual({ status: 429, code: 'RATE_LIMITED', retryAfter: expect.any(String) });
      // The next token comes a minute after the bucket started refilling, at the burst's start:
      // 60 s, less the seconds the burst took on a loaded machine.
      const retryAfter = Number(refused.retryAfter);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(retryAfter).toBeGreaterThanOrEqual(60 - elapsedSeconds);
    }
    // Another client is not affected.
    expect((await send(urls[1]!, '198.51.100.2', '{ __typename }')).status).toBe(200);
  });

  it('share one login throttle: failures at one gateway lock the account at the other', async () => {
    const address = '198.51.100.3';
    const email = 'nobody-shared-limits@example.com';
    for (let i = 0; i < FREE_ATTEMPTS; i++) {
      const failed = await send(urls[i % 2]!, address, LOGIN, { e: email, p: `wrong-${i}-password` });
      expect(failed.code).toBe('UNAUTHENTICATED');
    }
    for (const url of urls) {
      const throttled = await send(url, address, LOGIN, { e: email, p: 'wrong-again-password' });
      expect(throttled.status).toBe(429);
      expect(throttled.code).toBe('RATE_LIMITED');
      expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
    }
  });

  it("charge a request with a malformed token to its address's limit, as an anonymous one is", async () => {
    await expectChargedToAddress((i) => send(urls[i % 2]!, '198.51.100.5', '{ __typename }', {}, BAD_TOKEN));
  });

  it('refuse an SSE request past the limit with 429 before reading its body', async () => {
    const address = '198.51.100.6';
    await queries(urls, address, BURST);
    const refused = await ssePostWithoutBody(
      `${system.process('gateway#2').baseUrl}/graphql/stream`,
      address,
    );
    expect(refused).toEqual({ status: 429, code: 'RATE_LIMITED', retryAfter: expect.any(String) });
  });

  it("charge an SSE request with a malformed token to its address's limit, before reading its body", async () => {
    const url = `${system.process('gateway').baseUrl}/graphql/stream`;
    await expectChargedToAddress(() => ssePostWithoutBody(url, '198.51.100.7', BAD_TOKEN));
  });

  it('refuse a /graphql POST past the limit with 429 before reading its body', async () => {
    const address = '198.51.100.8';
    await queries(urls, address, BURST);
    const refused = await queryPostWithoutBody(urls[1]!, address);
    expect(refused).toEqual({ status: 429, code: 'RATE_LIMITED', retryAfter: expect.any(String) });
  });

  it("charge a /graphql POST with a malformed token to its address's limit, before reading its body", async () => {
    await expectChargedToAddress((i) => queryPostWithoutBody(urls[i % 2]!, '198.51.100.9', BAD_TOKEN));
  });

  it('count an IPv6 client by its /56: a new address for each request is still one client', async () => {
    // 2001:db8::/32 is the documentation range (RFC 3849); these all lie in 2001:db8:5:ab00::/56.
    const addresses = Array.from({ length: BURST + 1 }, (_, i) => `2001:db8:5:ab${10 + i}::${i + 1}`);
    const answers: Answer[] = [];
    for (const [i, address] of addresses.entries())
      answers.push(await send(urls[i % 2]!, address, '{ __typename }'));
    expect(answers.slice(0, BURST).map((a) => a.status)).toEqual(Array<number>(BURST).fill(200));
    expect(answers.at(-1)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // The next /56 is another client.
    expect((await send(urls[0]!, '2001:db8:5:ac00::1', '{ __typename }')).status).toBe(200);
  });

  it('decided every request in Redis (no fallback to memory counted)', async () => {
    for (const id of ['gateway', 'gateway#2']) {
      const text = await (await fetch(`${system.process(id).baseUrl}/metrics`)).text();
      expect(text).toContain('# TYPE gateway_limits_fallbacks_total counter');
      expect(text).not.toMatch(/^gateway_limits_fallbacks_total\{/m);
    }
  });
});

describe('two gateways without REDIS_URL', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await startTestSystem({ processes: ['gateway'], instances: { gateway: 2 }, env: LIMITS });
  });

  afterAll(async () => {
    await system?.dispose();
  });

  it('keep a rate limit each, as before: twice the burst passes', async () => {
    const answers = await queries(gatewayUrls(system), '198.51.100.4', 2 * BURST + 1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2 * BURST);
    expect(answers.at(-1)).toEqual({ status: 429, code: 'RATE_LIMITED', retryAfter: '60' });
  });
});

describe('a gateway started while its Redis is still coming up', () => {
  /** Within the start's wait (5 s, gateway/src/server.ts), with room for ioredis's reconnect. */
  const REDIS_LATE_MS = 2_500;
  let system: TestSystem | undefined;
  let redis: OwnRedis | undefined;

  afterAll(async () => {
    await system?.dispose();
    await redis?.kill();
  });

  it('serves with the shared limit from its first request: its start waits for Redis, bounded', async () => {
    redis = await startOwnRedis();
    await redis.kill();
    // Redis comes up late: REDIS_LATE_MS after the gateway found it unreachable, longer than a
    // gateway takes from there to answer /health/ready, within its start's wait for Redis.
    let redisStarted: Promise<void> | undefined;
    let gaveUp = false;
    system = await startTestSystem({
      processes: ['gateway'],
      env: { ...LIMITS, REDIS_URL: redis.url },
      output: ({ name, line }) => {
        if (name !== 'gateway') return;
        if (line.includes('cannot be reached'))
          redisStarted ??= setTimeoutPromise(REDIS_LATE_MS).then(() => redis!.start());
        if (line.includes('serving with limits from memory')) gaveUp = true;
      },
    });
    expect({ redisStarted: redisStarted !== undefined, gaveUp }).toEqual({
      redisStarted: true,
      gaveUp: false,
    });
    await redisStarted;
    const answers = await queries([system.process('gateway').graphqlUrl], '198.51.100.10', BURST + 1);
    expect(answers.at(-1)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const text = await (await fetch(`${system.process('gateway').baseUrl}/metrics`)).text();
    expect(text).not.toMatch(/^gateway_limits_fallbacks_total\{/m);
  });
});
