// Live-subscription transports: Server-Sent Events at /graphql/stream (graphql-sse) and
// graphql-ws over WebSocket. Subscriptions built from the schema (valid, mutated, or not
// subscriptions at all) and protocol abuse: bad JSON, missing queries, reservations, unknown
// streams; for WebSockets bad or server-only messages, subscribing before init, duplicate ids,
// huge payloads and the wrong subprotocol.
import type { Operation } from './documents.ts';
import { BODY_LIMIT_BYTES, pickAuth } from './http-probes.ts';
import type { HttpProbe, World, WsProbe } from './probe.ts';
import type { Random } from './random.ts';
import { controlString, literalOf, noise, toJson } from './values.ts';

export const SSE_PATH = '/graphql/stream';
const SSE_HEADERS = { 'content-type': 'application/json', accept: 'text/event-stream' };

/** A subscription (or something sent as one) over SSE, POST mostly, GET sometimes. */
export function sseRequest(r: Random, family: string, operation: Operation): HttpProbe {
  const auth = pickAuth(r);
  if (r.chance(0.2)) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(operation)) {
      if (value !== undefined) params.set(key, typeof value === 'string' ? value : toJson(value));
    }
    return {
      transport: 'http',
      family: `${family}+sse-get`,
      target: 'gateway',
      method: 'GET',
      path: `${SSE_PATH}?${params}`,
      headers: { accept: 'text/event-stream' },
      auth,
      stream: true,
    };
  }
  return {
    transport: 'http',
    family: `${family}+sse`,
    target: 'gateway',
    method: 'POST',
    path: SSE_PATH,
    headers: SSE_HEADERS,
    auth,
    body: toJson(operation),
    stream: true,
  };
}

const sse = (family: string, extra: Partial<HttpProbe>): HttpProbe => ({
  transport: 'http',
  family,
  target: 'gateway',
  method: 'POST',
  path: SSE_PATH,
  headers: SSE_HEADERS,
  auth: 'anonymous',
  stream: true,
  ...extra,
});

const SSE_ATTACKS: readonly (readonly [(r: Random, w: World) => HttpProbe, number])[] = [
  [
    (r) =>
      sse('sse/bad-json', {
        body: r.pick(['{', 'null', '[]', '"x"', '{"query": 1}', '{"query":"subscription {"}', '\u0000']),
      }),
    3,
  ],
  [() => sse('sse/missing-query', { body: '{}' }), 1],
  [
    (r) =>
      sse('sse/content-type', {
        headers: {
          accept: 'text/event-stream',
          'content-type': r.pick(['text/plain', 'application/xml', '']),
        },
        body: '{"query":"subscription { __typename }"}',
      }),
    2,
  ],
  [
    (r) =>
      sse('sse/accept', {
        headers: {
          'content-type': 'application/json',
          accept: r.pick(['application/json', '*/*', 'text/html', '']),
        },
        body: '{"query":"subscription { __typename }"}',
      }),
    1,
  ],
  [(r) => sse('sse/method', { method: r.pick(['DELETE', 'PATCH', 'HEAD', 'OPTIONS']), body: undefined }), 2],
  [
    (r) =>
      sse('sse/reservation', {
        method: 'PUT',
        body: undefined,
        auth: pickAuth(r),
        headers: r.chance(0.5) ? { 'x-graphql-event-stream-token': r.hex(r.pick([8, 64, 2_000])) } : {},
      }),
    2,
  ],
  [
    (r) =>
      sse('sse/unknown-stream', {
        method: 'GET',
        body: undefined,
        headers: { accept: 'text/event-stream', 'x-graphql-event-stream-token': r.hex(16) },
        path: r.chance(0.5) ? SSE_PATH : `${SSE_PATH}?token=${r.hex(16)}`,
      }),
    2,
  ],
  [
    (r) =>
      sse('sse/control-characters', {
        body: JSON.stringify({
          query: `subscription { orderStatusChanged(orderId: ${literalOf(controlString(r))}) { id } }`,
        }),
      }),
    1,
  ],
  [
    (r) =>
      sse('sse/body-over-limit', {
        body: {
          size: BODY_LIMIT_BYTES + r.pick([1, 1024 * 1024]),
          prefix: '{"query":"subscription { __typename }","variables":{"x":"',
          fill: 'x',
        },
      }),
    1,
  ],
];

export function sseAttack(r: Random, world: World): HttpProbe {
  return r.weighted(SSE_ATTACKS)(r, world);
}

const message = (value: unknown) => toJson(value);
const INIT = message({ type: 'connection_init' });

/** A subscription (or something sent as one) over graphql-ws: init, then subscribe. */
export function wsRequest(r: Random, family: string, operation: Operation): WsProbe {
  const id = r.chance(0.9) ? r.hex(8) : r.pick<unknown>([1, '', null, 'x'.repeat(5_000)]);
  return {
    transport: 'ws',
    family: `${family}+ws`,
    auth: pickAuth(r),
    frames: [INIT, message({ id, type: 'subscribe', payload: operation })],
  };
}

const ws = (family: string, frames: (string | Buffer)[], extra: Partial<WsProbe> = {}): WsProbe => ({
  transport: 'ws',
  family,
  auth: 'anonymous',
  frames,
  ...extra,
});

const SUBSCRIBE = (id: string, orderId: string) =>
  message({
    id,
    type: 'subscribe',
    payload: { query: `subscription { orderStatusChanged(orderId: ${literalOf(orderId)}) { id status } }` },
  });

const WS_ATTACKS: readonly (readonly [(r: Random, w: World) => WsProbe, number])[] = [
  [(r, w) => ws('ws/subscribe-before-init', [SUBSCRIBE(r.hex(4), r.pick(w.orderIds))]), 2],
  [
    (r) =>
      ws('ws/server-only-type', [
        INIT,
        message({ type: r.pick(['connection_ack', 'next', 'error']), id: r.hex(4), payload: {} }),
      ]),
    3,
  ],
  [
    (r) =>
      ws('ws/server-only-type-before-init', [
        message({ type: r.pick(['connection_ack', 'next', 'error']), id: r.hex(4), payload: {} }),
      ]),
    1,
  ],
  [
    (r) =>
      ws('ws/unknown-type', [
        INIT,
        message({ type: r.pick(['start', 'stop', 'connection_terminate', '', 'SUBSCRIBE', 7]), id: '1' }),
      ]),
    2,
  ],
  [
    (r) =>
      ws('ws/not-json', [INIT, r.pick(['{', 'null', '[]', '"x"', '7', '', '\u0000', noise(r, 50, true)])]),
    3,
  ],
  [(r) => ws('ws/binary', [INIT, Buffer.from(r.pick([[0xff, 0x00], [0x7b, 0x7d], [0]]))]), 1],
  [
    (r) =>
      ws('ws/bad-init', [
        message({
          type: 'connection_init',
          payload: r.pick<unknown>([
            'x',
            7,
            [],
            null,
            { authorization: 7 },
            { authorization: 'Bearer a.b.c' },
            { authorization: `Bearer ${'a'.repeat(10_000)}` },
          ]),
        }),
      ]),
    3,
  ],
  [() => ws('ws/double-init', [INIT, INIT]), 1],
  [
    (r, w) =>
      ws(
        'ws/duplicate-id',
        [INIT, SUBSCRIBE('same', r.pick(w.orderIds)), SUBSCRIBE('same', r.pick(w.orderIds))],
        { auth: 'customer' },
      ),
    1,
  ],
  [
    (r) =>
      ws('ws/bad-subscribe', [
        INIT,
        message({
          type: 'subscribe',
          ...r.pick<object>([
            {},
            { id: 'a' },
            { id: 'a', payload: 'x' },
            { id: 'a', payload: { query: 7 } },
            { id: 'a', payload: { query: '{' } },
            { id: {}, payload: { query: '{ __typename }' } },
            { id: 'a', payload: { query: 'subscription { __typename }', variables: 'x' } },
          ]),
        }),
      ]),
    3,
  ],
  [(r) => ws('ws/complete-unknown', [INIT, message({ type: 'complete', id: r.hex(4) })]), 1],
  [
    (r) =>
      ws('ws/ping-payload', [
        INIT,
        message({ type: r.pick(['ping', 'pong']), payload: r.pick<unknown>(['x', 7, { a: '\u0000' }]) }),
      ]),
    1,
  ],
  [
    (r) =>
      ws('ws/huge-payload', [
        INIT,
        message({
          id: 'h',
          type: 'subscribe',
          payload: { query: `subscription { __typename } #${'x'.repeat(r.pick([30_000, 200_000]))}` },
        }),
      ]),
    1,
  ],
  [
    (r, w) =>
      ws(
        'ws/many-subscriptions',
        [INIT, ...Array.from({ length: r.pick([5, 50]) }, (_, i) => SUBSCRIBE(`s${i}`, r.pick(w.orderIds)))],
        { auth: 'customer' },
      ),
    1,
  ],
  [(r) => ws('ws/subprotocol', [INIT], { protocol: r.pick<string | null>([null, 'graphql-ws', 'x']) }), 1],
];

export function wsAttack(r: Random, world: World): WsProbe {
  return r.weighted(WS_ATTACKS)(r, world);
}
