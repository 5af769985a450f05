// Checks of an HTTP GraphQL request made while its context is created, before Apollo Server
// parses anything: the query text against the limits, and the automatic-persisted-query
// extension. Apollo answers a bad APQ hash or version with an uncoded error (a masked
// INTERNAL_SERVER_ERROR here); refused first, they are the client's mistake, BAD_USER_INPUT.
// A query registered by APQ has passed these checks, so one sent later by its hash alone has
// too; the token cap of the parser and the operation checks apply to it again anyway.
import { createHash } from 'node:crypto';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { BadUserInputError } from '../../errors.ts';
import { checkQueryText, type QueryLimits } from './limits.ts';

/** The query text of an HTTP GraphQL request (GET `?query=` or a POSTed JSON body), if any. */
export function queryText(request: HTTPGraphQLRequest): string | undefined {
  if (request.method === 'GET') return new URLSearchParams(request.search).get('query') ?? undefined;
  const body = bodyOf(request);
  return typeof body?.query === 'string' ? body.query : undefined;
}

export function checkGraphQLRequest(request: HTTPGraphQLRequest, limits: QueryLimits): void {
  const query = queryText(request);
  if (query !== undefined) checkQueryText(query, limits);
  const persisted = persistedQueryOf(request);
  if (persisted === undefined) return;
  if (persisted === null || typeof persisted !== 'object') {
    throw new BadUserInputError('extensions.persistedQuery', 'extensions.persistedQuery must be an object');
  }
  const { version, sha256Hash } = persisted as { version?: unknown; sha256Hash?: unknown };
  if (version !== 1) {
    throw new BadUserInputError(
      'extensions.persistedQuery.version',
      'Unsupported persisted query version: only version 1 is served',
    );
  }
  if (typeof sha256Hash !== 'string') {
    throw new BadUserInputError('extensions.persistedQuery.sha256Hash', 'sha256Hash must be a string');
  }
  if (query !== undefined && createHash('sha256').update(query).digest('hex') !== sha256Hash) {
    throw new BadUserInputError(
      'extensions.persistedQuery.sha256Hash',
      'The persisted query hash does not match the SHA-256 of the query',
    );
  }
}

function bodyOf(request: HTTPGraphQLRequest): Record<string, unknown> | undefined {
  const body = request.body;
  return body && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined;
}

/** `extensions.persistedQuery` from the body or the `extensions` search parameter (JSON). */
function persistedQueryOf(request: HTTPGraphQLRequest): unknown {
  let extensions: unknown;
  if (request.method === 'GET') {
    const raw = new URLSearchParams(request.search).get('extensions');
    if (!raw) return undefined;
    try {
      extensions = JSON.parse(raw);
    } catch {
      return undefined; // Apollo Server answers unreadable extensions with a 400 of its own.
    }
  } else {
    extensions = bodyOf(request)?.extensions;
  }
  if (!extensions || typeof extensions !== 'object') return undefined;
  return (extensions as { persistedQuery?: unknown }).persistedQuery;
}
