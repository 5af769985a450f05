// HTTP requests to /graphql (and `/`, and now and then a subgraph's own /graphql): a generated
// operation in one of the forms a client may send it (POST JSON, GET query string, persisted
// query). Requests broken at the HTTP level are in http-attacks.ts.
import { createHash } from 'node:crypto';
import type { Operation } from './documents.ts';
import type { Auth, HttpProbe, Target, World } from './probe.ts';
import type { Random } from './random.ts';
import { toJson } from './values.ts';

/** The gateway's request body limit (shared/http/apollo-handler.ts MAX_BODY_BYTES). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export const JSON_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
};

export function pickAuth(r: Random): Auth {
  return r.weighted<Auth>([
    ['anonymous', 4],
    ['customer', 4],
    ['admin', 2],
    ['garbage', 1],
  ]);
}

function pickTarget(r: Random, world: World): Target {
  return r.chance(0.08) ? r.pick(world.subgraphs) : 'gateway';
}

function queryString(operation: Operation): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(operation)) {
    if (value === undefined) continue;
    params.set(
      key,
      typeof value === 'string' && (key === 'query' || key === 'operationName') ? value : toJson(value),
    );
  }
  return params.toString();
}

/** The operation as a client would send it: POST JSON mostly, else GET or a persisted query. */
export function operationRequest(r: Random, world: World, family: string, operation: Operation): HttpProbe {
  const auth = pickAuth(r);
  const target = pickTarget(r, world);
  const path = target === 'gateway' && r.chance(0.1) ? '/' : '/graphql';
  const form = r.weighted<'post' | 'get' | 'apq'>([
    ['post', 8],
    ['get', 2],
    ['apq', 1],
  ]);
  if (form === 'get') {
    const preflight: Record<string, string> = r.chance(0.9) ? { 'apollo-require-preflight': 'true' } : {};
    return {
      transport: 'http',
      family: `${family}+get`,
      target,
      method: 'GET',
      path: `${path}?${queryString(operation)}`,
      headers: { accept: 'application/json', ...preflight },
      auth,
    };
  }
  if (form === 'apq' && typeof operation.query === 'string') {
    const hash = createHash('sha256').update(operation.query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    const body = r.chance(0.5)
      ? { ...operation, query: undefined, extensions }
      : { ...operation, extensions };
    return {
      transport: 'http',
      family: `${family}+apq`,
      target,
      method: 'POST',
      path,
      headers: JSON_HEADERS,
      auth,
      body: toJson(body),
    };
  }
  return {
    transport: 'http',
    family,
    target,
    method: 'POST',
    path,
    headers: JSON_HEADERS,
    auth,
    body: toJson(operation),
  };
}
