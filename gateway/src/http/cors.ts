// CORS for browser clients: the configured origins, Apollo Studio's Sandbox and Explorer among
// them when CORS_ALLOW_STUDIO (off in production unless asked). Preflights are answered here; an
// origin not on the list gets no CORS headers, so the browser refuses the response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from '../../../shared/http/server.ts';

const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-request-id',
  'traceparent',
].join(', ');
const EXPOSED_HEADERS = 'retry-after, x-request-id';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

export function withCors(allowedOrigins: readonly string[], handler: RequestHandler): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    res.setHeader('vary', 'Origin');
    const permitted = origin !== undefined && allowed.has(origin);
    if (permitted) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    }
    if (req.method === 'OPTIONS') {
      if (permitted) {
        res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
        res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE_SECONDS);
      }
      res.writeHead(204);
      res.end();
      return;
    }
    return handler(req, res);
  };
}
