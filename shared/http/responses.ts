// The JSON error answer of an endpoint that fails before GraphQL runs (body too large, wrong
// method or content type): the same `{ errors: [{ message, extensions: { code } }] }` shape as
// every GraphQL error, so a client reads one format.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.ts';

export function sendErrors(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  const body = errorBody(code, message);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** `{ errors: [{ message, extensions: { code } }] }` as JSON. */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}
