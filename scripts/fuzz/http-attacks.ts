// Requests broken at the HTTP level: bad JSON, JSON that is not a request, wrong content types
// and methods, GET and persisted-query forms gone wrong, odd headers, bodies over the limit,
// and a keep-alive request after a refused body (it must still be answered).
import { createHash } from 'node:crypto';
import { BODY_LIMIT_BYTES, JSON_HEADERS } from './http-probes.ts';
import type { HttpProbe, World } from './probe.ts';
import type { Random } from './random.ts';
import { controlString, noise } from './values.ts';

type Maker = (r: Random, world: World) => HttpProbe;

const post = (
  family: string,
  body: HttpProbe['body'],
  headers: Record<string, string> = JSON_HEADERS,
  extra: Partial<HttpProbe> = {},
): HttpProbe => ({
  transport: 'http',
  family,
  target: 'gateway',
  method: 'POST',
  path: '/graphql',
  headers,
  auth: 'anonymous',
  body,
  ...extra,
});

const HTTP_ATTACKS: readonly (readonly [Maker, number])[] = [
  [
    (r) =>
      post(
        'http/bad-json',
        r.pick([
          '{',
          '{"query":',
          '{"query": "{ __typename }"',
          'nul',
          '{"query": "{ __typename }"}}',
          "{'query': 1}",
          '\u0000',
          '{"query":"\\u0000"}',
          '{"query": "{ __typename }", "query": 1}',
          '{"__proto__": {"query": 1}}',
        ]),
      ),
    4,
  ],
  [
    (r) =>
      post(
        'http/json-not-an-object',
        r.pick([
          'null',
          '[]',
          '"{ __typename }"',
          '7',
          'true',
          '[{"query":"{ __typename }"},{"query":"{ __typename }"}]',
          '[null]',
        ]),
      ),
    3,
  ],
  [
    (r) =>
      post(
        'http/deep-json',
        `${'['.repeat(r.pick([1_000, 100_000]))}${']'.repeat(r.pick([1_000, 100_000]))}`,
      ),
    1,
  ],
  [
    (r) =>
      post(
        'http/deep-json-variables',
        `{"query":"query($f: ProductFilter) { products(filter: $f) { totalCount } }","variables":{"f":{"category":${'['.repeat(r.pick([5_000, 200_000]))}"x"${']'.repeat(r.pick([5_000, 200_000]))}}}}`,
      ),
    1,
  ],
  [
    (r) =>
      post(
        'http/invalid-utf8',
        Buffer.concat([
          Buffer.from('{"query":"{ __typename '),
          Buffer.from(r.pick([[0xff, 0xfe], [0xc3], [0xed, 0xa0, 0x80]])),
          Buffer.from(' }"}'),
        ]),
      ),
    1,
  ],
  [
    (r) =>
      post(
        'http/bom',
        '\ufeff{"query":"{ __typename }"}',
        r.chance(0.5) ? JSON_HEADERS : { 'content-type': 'application/json; charset=utf-16' },
      ),
    1,
  ],
  [
    (r) =>
      post('http/content-type', '{"query":"{ __typename }"}', {
        'content-type': r.pick([
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/graphql',
          'application/xml',
          '',
          'application/json; charset=latin1',
          `application/${noise(r, 10)}`,
        ]),
      }),
    3,
  ],
  [() => post('http/no-content-type', '{"query":"{ __typename }"}', { accept: 'application/json' }), 1],
  [
    (r) =>
      post('http/form-body', `query=${encodeURIComponent('{ __typename }')}`, {
        'content-type': 'application/x-www-form-urlencoded',
        'apollo-require-preflight': r.chance(0.5) ? 'true' : '',
      }),
    1,
  ],
  [
    (r) => ({
      ...post('http/method', r.chance(0.5) ? '{"query":"{ __typename }"}' : ''),
      method: r.pick(['PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']),
    }),
    2,
  ],
  [
    (r) => ({
      ...post('http/get-forms', ''),
      method: 'GET',
      body: undefined,
      headers: { 'apollo-require-preflight': 'true' },
      path: `/graphql?${r.pick(['', 'query=', 'query=%7B', 'query=%7B__typename%7D&variables=%7B', 'query=%7B__typename%7D&variables=[1]', 'query=%7B__typename%7D&extensions=x', 'query=mutation%7Blogin(email%3A%22a%22%2Cpassword%3A%22b%22)%7Btoken%7D%7D', 'query=%7B__typename%7D&query=%7B__typename%7D', 'query=%00', 'operationName=%00&query=%7B__typename%7D', '%zz=1'])}`,
    }),
    3,
  ],
  [
    (r) => ({
      ...post('http/get-long-url', ''),
      method: 'GET',
      body: undefined,
      headers: { 'apollo-require-preflight': 'true' },
      path: `/graphql?query=${encodeURIComponent(`{ ${'__typename '.repeat(r.pick([500, 3_000]))}}`)}`,
    }),
    1,
  ],
  [
    (r) =>
      post(
        'http/apq-unknown-hash',
        JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: r.hex(64) } } }),
      ),
    2,
  ],
  [
    (r) =>
      post(
        'http/apq-hash-mismatch',
        JSON.stringify({
          query: '{ __typename }',
          extensions: { persistedQuery: { version: 1, sha256Hash: r.hex(64) } },
        }),
      ),
    2,
  ],
  [
    (r) =>
      post(
        'http/apq-bad-version',
        JSON.stringify({
          query: '{ __typename }',
          extensions: {
            persistedQuery: {
              version: r.pick([2, 0, '1', null]),
              sha256Hash: createHash('sha256').update('{ __typename }').digest('hex'),
            },
          },
        }),
      ),
    2,
  ],
  [
    (r) =>
      post(
        'http/apq-bad-shape',
        JSON.stringify({
          extensions: { persistedQuery: r.pick([{ version: 1 }, { version: 1, sha256Hash: 7 }, [], 'x']) },
        }),
      ),
    1,
  ],
  [
    (r) => ({
      ...post('http/apq-get', ''),
      method: 'GET',
      body: undefined,
      headers: { 'apollo-require-preflight': 'true' },
      path: `/graphql?extensions=${encodeURIComponent(JSON.stringify({ persistedQuery: { version: r.pick([1, 2]), sha256Hash: r.hex(64) } }))}`,
    }),
    1,
  ],
  [
    (r) => ({
      ...post('http/headers', '{"query":"{ me { id } }"}'),
      auth: r.pick(['garbage', 'anonymous'] as const),
      headers: {
        ...JSON_HEADERS,
        ...r.pick<Record<string, string>>([
          { authorization: 'Bearer' },
          { authorization: `Bearer ${'a'.repeat(8_000)}` },
          { authorization: 'Basic YTpi' },
          { authorization: 'Bearer a.b.c' },
          { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.' },
          { 'x-forwarded-for': 'not-an-ip, ::1, 999.1.1.1' },
          { traceparent: '00-zz-zz-01' },
          { accept: 'text/event-stream' },
          { accept: 'multipart/mixed' },
          { 'x-apollo-operation-name': '\u00ff' },
        ]),
      },
    }),
    3,
  ],
  [
    (r) =>
      post(
        'http/control-in-variables',
        JSON.stringify({
          query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
          variables: { e: controlString(r), p: controlString(r) },
        }),
      ),
    2,
  ],
  [
    (r) => ({
      ...post('http/body-over-limit', {
        size: BODY_LIMIT_BYTES + r.pick([1, 1024 * 1024, 3 * 1024 * 1024]),
        prefix: '{"query":"{ __typename }","variables":{"x":"',
        fill: 'x',
      }),
      target: r.chance(0.2) ? r.pick(['users', 'products'] as const) : 'gateway',
    }),
    1,
  ],
  [
    (r) =>
      post(
        'http/keep-alive-after-413',
        {
          size: BODY_LIMIT_BYTES + r.pick([64 * 1024, 1024 * 1024]),
          prefix: '{"query":"{ __typename }","variables":{"x":"',
          fill: 'x',
        },
        JSON_HEADERS,
        { followUp: true },
      ),
    1,
  ],
  [() => post('http/keep-alive-after-400', '{"query":', JSON_HEADERS, { followUp: true }), 1],
];

export function httpAttack(r: Random, world: World): HttpProbe {
  return r.weighted(HTTP_ATTACKS)(r, world);
}
