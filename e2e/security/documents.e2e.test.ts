// The GraphQL document itself as an attack (issue 9): documents built to cost exponential or
// deeply recursive work, operation names and persisted-query extensions that name nothing,
// subscriptions over plain HTTP, NUL characters bound for PostgreSQL, and operation names
// that would grow /metrics without bound. Each gets a coded 4xx answer at once, through the
// gateway and directly at a subgraph (defence in depth), and legitimate big queries still work.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client as WsClient } from 'graphql-ws';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../../test/support/system.ts';
import { Client, type Loose } from '../support/client.ts';
import { subscribeSse, subscribeWs, wsClient, type LiveSubscription } from '../support/live.ts';
import { createServiceTokenSigner, SERVICE_TOKEN_HEADER } from '../../shared/auth/service-identity.ts';

let system: TestSystem;
let client: Client;
let admin: string;
const sockets: WsClient[] = [];
const lives: LiveSubscription[] = [];

beforeAll(async () => {
  system = await startTestSystem({
    processes: ['users', 'products', 'inventory', 'gateway'],
    env: { RATE_LIMIT_PER_MINUTE: '100000' },
  });
  client = new Client(system.urls.gateway!);
  admin = await client.adminToken();
});

afterAll(async () => {
  for (const live of lives) live.close();
  await Promise.all(sockets.map((s) => s.dispose()));
  await system?.dispose();
});

interface Answer {
  readonly status: number;
  readonly body: GraphQLResponse;
}

/** A POST to `url` with any JSON body; the status and the parsed answer. */
async function post(
  body: unknown,
  url = system.urls.gateway!,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse };
}

async function get(params: Record<string, string>): Promise<Answer> {
  const url = new URL(system.urls.gateway!);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  // CSRF prevention asks GET requests for a header a browser would not send cross-origin.
  const response = await fetch(url, {
    headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse };
}

/** Every error carries a code of the contract and no engine message; returns the first code. */
function codeOf(answer: Answer): string | undefined {
  expect(answer.body.errors?.length).toBeGreaterThan(0);
  for (const error of answer.body.errors!) {
    expect(error.message).not.toMatch(/call stack|stack size|RangeError|syntax error at or near|postgres/i);
    expect(typeof error.extensions?.code).toBe('string');
  }
  return answer.body.errors![0]!.extensions!.code;
}

/** `{...F0} fragment F0 on Query{...F1 ...F1} … fragment F<levels> on Query{__typename}` */
function repeatedFragments(levels: number, type = 'Query', leaf = '__typename'): string {
  let document = '{...F0}';
  for (let i = 0; i < levels; i += 1) document += ` fragment F${i} on ${type}{...F${i + 1} ...F${i + 1}}`;
  return `${document} fragment F${levels} on ${type}{${leaf}}`;
}

/** `{...on Query{...on Query{ … __typename }}}`, 1,400 levels: 18 KB. */
const NESTED_INLINE = `{${'...on Query{'.repeat(1400)}__typename${'}'.repeat(1400)}}`;

function deepList(levels: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i += 1) value = [value];
  return value;
}

describe('documents that cost more than their size', () => {
  it('refuses 40 levels of repeated fragments (2^40 paths) with QUERY_TOO_COMPLEX', async () => {
    const answer = await post({ query: repeatedFragments(40) });
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses 1,400 nested inline fragments with QUERY_TOO_COMPLEX, naming the limit', async () => {
    expect(Buffer.byteLength(NESTED_INLINE)).toBeLessThan(20_000);
    const answer = await post({ query: NESTED_INLINE });
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('QUERY_TOO_COMPLEX');
    expect(answer.body.errors![0]!.message).toMatch(/nest/i);
  });

  it('refuses a 3,000-deep list literal with a clean coded error', async () => {
    const literal = `${'['.repeat(3000)}"x"${']'.repeat(3000)}`;
    const answer = await post({ query: `{ products(filter: { category: ${literal} }) { totalCount } }` });
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a 3,000-deep list in the variables with BAD_USER_INPUT', async () => {
    const answer = await post({
      query: 'query ($c: [[String]]) { products(filter: { category: $c }) { totalCount } }',
      variables: { c: deepList(3000) },
    });
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
  });

  it('refuses a document of too many tokens or directives with QUERY_TOO_COMPLEX', async () => {
    const tokens = await post({
      query: `{ products(filter: { category: [${'1 '.repeat(6000)}] }) { totalCount } }`,
    });
    expect(codeOf(tokens)).toBe('QUERY_TOO_COMPLEX');
    expect(tokens.body.errors![0]!.message).toMatch(/token/i);
    const directives = await post({ query: `{ __typename${' @skip(if: false)'.repeat(200)} }` });
    expect(codeOf(directives)).toBe('QUERY_TOO_COMPLEX');
    expect(directives.body.errors![0]!.message).toMatch(/directive/i);
  });

  it('refuses one field selected over and over in a selection set before validation compares every pair', async () => {
    const answer = await post({ query: `{ ${'me { id } '.repeat(600)} }` });
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('QUERY_TOO_COMPLEX');
    expect(answer.body.errors![0]!.extensions).toMatchObject({ limit: 'repeats', maximum: 20 });
  });

  it('refuses a second introspection of the whole schema in one operation', async () => {
    const once = await post({ query: '{ __schema { queryType { name } } }' });
    expect(once.body.errors).toBeUndefined();
    const twice = await post({
      query: '{ a: __schema { queryType { name } } b: __schema { queryType { name } } }',
    });
    expect(codeOf(twice)).toBe('QUERY_TOO_COMPLEX');
    expect(twice.body.errors![0]!.extensions).toMatchObject({
      limit: 'introspection',
      actual: 2,
      maximum: 1,
    });
  });

  it('applies the same analysis to graphql-ws and SSE subscriptions', async () => {
    const socket = wsClient(system.urls.gatewayWs!);
    sockets.push(socket);
    const streamUrl = new URL('/graphql/stream', system.urls.gateway!).toString();
    const leaf = 'orderStatusChanged(orderId: "00000000-0000-0000-0000-000000000000") { id }';
    for (const subscription of [
      `subscription ${repeatedFragments(40, 'Subscription', leaf)}`,
      `subscription ${NESTED_INLINE.replaceAll('on Query', 'on Subscription')}`,
    ]) {
      for (const live of [
        subscribeWs(socket, {}, subscription),
        subscribeSse(streamUrl, undefined, {}, subscription),
      ]) {
        lives.push(live);
        // graphql-ws ends with an error message; graphql-sse sends the errors as a result.
        const ending = await live.ended();
        const errors =
          ending.kind === 'error' ? (ending.error as Loose[]) : live.results.flatMap((r) => r.errors);
        expect(errors.map((e: Loose) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
        expect(live.results.some((r) => r.data)).toBe(false);
      }
    }
  });
});

describe('operations that name nothing', () => {
  it('answers an operationName that names no operation with 400 BAD_USER_INPUT (POST and GET)', async () => {
    const query = 'query A { __typename } query B { __typename }';
    for (const answer of [
      await post({ query, operationName: 'C' }),
      await post({ query }),
      await post({ query: '{ __typename }', operationName: 'Nope' }),
      await get({ query, operationName: 'C' }),
      await get({ query }),
    ]) {
      expect(answer.status).toBe(400);
      expect(codeOf(answer)).toBe('BAD_USER_INPUT');
    }
  });

  it('answers a subscription over plain HTTP with a coded 4xx that points to WebSocket/SSE', async () => {
    const query =
      'subscription { orderStatusChanged(orderId: "00000000-0000-0000-0000-000000000000") { id } }';
    const viaPost = await post({ query });
    expect(viaPost.status).toBe(400);
    expect(codeOf(viaPost)).toBe('BAD_USER_INPUT');
    expect(viaPost.body.errors![0]!.message).toMatch(/WebSocket|SSE|stream/);
    const viaGet = await get({ query });
    expect(viaGet.status).toBeGreaterThanOrEqual(400);
    expect(viaGet.status).toBeLessThan(500);
    expect(codeOf(viaGet)).toBe('BAD_USER_INPUT');
  });
});

describe('NUL characters', () => {
  it('refuses a NUL in an argument or a variable with BAD_USER_INPUT before PostgreSQL sees it', async () => {
    for (const answer of [
      await post({ query: '{ products(filter: { category: "\\u0000" }) { totalCount } }' }),
      await post({ query: 'mutation { login(email: "\\u0000x", password: "x") { token } }' }),
      await post({
        query: 'query ($c: String) { products(filter: { category: $c }) { totalCount } }',
        variables: { c: 'a\u0000b' },
      }),
    ]) {
      expect(codeOf(answer)).toBe('BAD_USER_INPUT');
      expect(answer.body.data ?? null).toBeNull();
    }
  });
});

describe('strings that are not Unicode', () => {
  it('refuses a lone surrogate in a variable with BAD_USER_INPUT, not an error from PostgreSQL', async () => {
    const answer = await post({
      query: 'mutation ($i: RegisterInput!) { register(input: $i) { token } }',
      // JSON.stringify writes the lone surrogate as the escape \ud800, as a hostile client would.
      variables: {
        i: { email: `lone-${Date.now()}@example.com`, password: 'long enough 1', name: 'a\ud800b' },
      },
    });
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
    expect(answer.body.data ?? null).toBeNull();
  });
});

describe('automatic persisted queries', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  it('answers a hash mismatch or an unknown version with BAD_USER_INPUT, a miss with PERSISTED_QUERY_NOT_FOUND', async () => {
    const mismatch = await post({
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
    });
    expect(mismatch.status).toBe(400);
    expect(codeOf(mismatch)).toBe('BAD_USER_INPUT');
    const version = await post({
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 2, sha256Hash: sha('{ __typename }') } },
    });
    expect(version.status).toBe(400);
    expect(codeOf(version)).toBe('BAD_USER_INPUT');
    const miss = await post({
      extensions: {
        persistedQuery: { version: 1, sha256Hash: sha(`{ __typename } # ${randomBytes(8).toString('hex')}`) },
      },
    });
    expect(codeOf(miss)).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('applies the limits to a document sent by its hash', async () => {
    const legit = `{ __typename } # ${randomBytes(8).toString('hex')}`;
    const persisted = { persistedQuery: { version: 1, sha256Hash: sha(legit) } };
    expect((await post({ query: legit, extensions: persisted })).body.data).toEqual({ __typename: 'Query' });
    expect((await post({ extensions: persisted })).body.data).toEqual({ __typename: 'Query' });

    const hostile = `${repeatedFragments(40)} # ${randomBytes(8).toString('hex')}`;
    const hostileExtensions = { persistedQuery: { version: 1, sha256Hash: sha(hostile) } };
    expect(codeOf(await post({ query: hostile, extensions: hostileExtensions }))).toBe('QUERY_TOO_COMPLEX');
    const byHash = await post({ extensions: hostileExtensions });
    expect(byHash.body.data ?? null).toBeNull();
    expect(['QUERY_TOO_COMPLEX', 'PERSISTED_QUERY_NOT_FOUND']).toContain(codeOf(byHash));
  });
});

describe('subgraphs enforce limits of their own', () => {
  const products = () => system.urls.subgraphs.products!;
  /** Straight to products as the gateway would call it: with a service token. */
  const asGateway = async () => ({
    [SERVICE_TOKEN_HEADER]: await createServiceTokenSigner(system.env.SERVICE_SECRET!, 'gateway')('products'),
  });

  it('refuses hostile documents sent straight to a subgraph with QUERY_TOO_COMPLEX', async () => {
    for (const query of [
      repeatedFragments(40),
      NESTED_INLINE,
      `{${' __typename'.repeat(60_000)}}`,
      '{ products(first: 100000) { edges { node { id sku name } } } }',
    ]) {
      expect(codeOf(await post({ query }, products(), await asGateway()))).toBe('QUERY_TOO_COMPLEX');
    }
    const nul = await post(
      { query: '{ products(filter: { category: "\\u0000" }) { totalCount } }' },
      products(),
      await asGateway(),
    );
    expect(codeOf(nul)).toBe('BAD_USER_INPUT');
  });

  it('still serves a big legitimate query whose entity fetches carry many representations', async () => {
    const category = `bulk-${randomBytes(4).toString('hex')}`;
    for (let batch = 0; batch < 4; batch += 1) {
      await Promise.all(
        Array.from({ length: 25 }, () =>
          client.createProduct(admin, { priceCents: 100, category, stock: 3 }),
        ),
      );
    }
    const data = await client.data(
      `query Bulk($c: String) { products(first: 100, filter: { category: $c }) {
         totalCount edges { node { id sku name price { amountCents currency } stock { available } } } } }`,
      { c: category },
    );
    expect(data.products.totalCount).toBe(100);
    expect(data.products.edges).toHaveLength(100);
    expect(
      data.products.edges.every(
        (e: { node: { stock: { available: number } } }) => e.node.stock.available === 3,
      ),
    ).toBe(true);
  });
});

describe('metric labels', () => {
  const labelValues = async (graphqlUrl: string): Promise<Set<string>> => {
    const text = await (await fetch(new URL('/metrics', graphqlUrl))).text();
    const values = new Set<string>();
    for (const match of text.matchAll(/^graphql_operations_total\{[^}]*operation="([^"]*)"/gm))
      values.add(match[1]!);
    return values;
  };

  it('does not grow with the number of distinct operation names clients choose', async () => {
    const query = (name: string) => `query ${name} { products(first: 1) { totalCount } }`;
    await post({ query: query('Warm') });
    const gatewayBefore = await labelValues(system.urls.gateway!);
    const productsBefore = await labelValues(system.urls.subgraphs.products!);
    for (let i = 0; i < 40; i += 1) {
      const answer = await post({ query: query(`Op_${randomBytes(6).toString('hex')}`) });
      expect(answer.body.errors).toBeUndefined();
    }
    const gatewayAfter = await labelValues(system.urls.gateway!);
    const productsAfter = await labelValues(system.urls.subgraphs.products!);
    expect(gatewayAfter.size).toBe(gatewayBefore.size);
    expect(productsAfter.size).toBe(productsBefore.size);
  });
});
