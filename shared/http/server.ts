// One HTTP server per process: GraphQL, health and metrics share it. Routes are few and fixed,
// so a small table beats a framework.
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  STATUS_CODES,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { diagnosticsRoutes } from './diagnostics.ts';
import { sendErrors } from './responses.ts';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/**
 * A dependency the process needs to do useful work; `/health/ready` reports each one. A check
 * passes unless it throws; what it resolves with (if anything) is shown as its `detail`.
 */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void | Readonly<Record<string, unknown>>>;
}

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: readonly ReadinessCheck[];
  /** Path → handler; `/health/*`, `/metrics` (and `/debug/heap` if DIAGNOSTICS_ENABLED) are added. */
  readonly routes: Readonly<Record<string, RequestHandler>>;
  /** The bearer token `/metrics` asks for (METRICS_TOKEN, see readCommonConfig); none leaves it open. */
  readonly metricsToken: string | undefined;
  /** Time a client has to send a whole request, headers and body (default REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs?: number;
}

/**
 * Receiving one request (at most 1 MB) may take this long; a client dripping its body holds a
 * connection no longer. It does not limit responses (SSE streams) nor idle keep-alive sockets.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 20_000;

const READINESS_TIMEOUT_MS = 2000;

export function createHttpServer(options: HttpServerOptions): Server {
  const { logger, metrics, readiness, routes } = options;
  const { metricsToken } = options;
  const authorized = metricsToken ? bearerCheck(metricsToken) : () => true;
  const table: Record<string, RequestHandler> = {
    ...routes,
    ...diagnosticsRoutes(),
    '/health/live': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/health/ready': async (_req, res) => {
      const results = await Promise.all(readiness.map((dep) => probe(dep)));
      const ready = results.every((r) => r.ok);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks: results });
    },
    '/metrics': async (req, res) => {
      if (!authorized(req.headers.authorization)) {
        sendErrors(res, 401, ErrorCode.UNAUTHENTICATED, 'Send Authorization: Bearer <METRICS_TOKEN>', {
          'www-authenticate': 'Bearer',
        });
        return;
      }
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
    },
  };
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const server: Server = createServer(
    {
      requestTimeout,
      // Node applies requestTimeout only when headersTimeout is not longer.
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
      // How often Node checks those limits; its default (30 s) would double them.
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, requestTimeout / 4)),
      // Only WebSocket upgrades are upgrades. A server may ignore Upgrade (RFC 9110, 7.8), and a
      // client offering HTTP/2 over cleartext (`curl --http2`: Upgrade: h2c) is then served over
      // HTTP/1.1, where Node's default would hand it to the WebSocket handshake to be refused.
      shouldUpgradeCallback: (req) =>
        req.headers.upgrade?.toLowerCase() === 'websocket' && server.listenerCount('upgrade') > 0,
    },
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const handler = table[path];
      const stopTimer = metrics.httpDuration.startTimer({
        route: handler ? path : 'unknown',
        method: req.method ?? 'GET',
      });
      res.on('finish', () => stopTimer({ status: String(res.statusCode) }));
      if (!handler) {
        sendErrors(res, 404, ErrorCode.NOT_FOUND, 'Not found');
        return;
      }
      Promise.resolve()
        .then(() => handler(req, res))
        .catch((err: unknown) => {
          logger.error({ err, path }, 'request handler failed');
          if (!res.headersSent)
            sendErrors(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
          else res.destroy();
        });
    },
  );
  server.on('clientError', answerClientError);
  // Subgraphs sit behind a gateway that keeps connections open; outlive its idle timeout.
  // (headersTimeout no longer has to exceed it: Node starts that clock at a request's first byte.)
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Node's own answers to what it cannot parse or did not receive in time, by its error code. */
const CLIENT_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'The request line and headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request did not arrive in time'],
};

/**
 * Node answers a request it cannot parse (or that arrives too slowly) itself, with a bare status
 * and no body; this gives those answers the one JSON error shape every endpoint uses.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'The request is not valid HTTP'];
  const body = JSON.stringify({ errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT } }] });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Compares digests in constant time, so the answer's timing says nothing about the token. */
function bearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return false;
    return timingSafeEqual(createHash('sha256').update(match[1]!).digest(), expected);
  };
}

async function probe(
  dep: ReadinessCheck,
): Promise<{ name: string; ok: boolean; error?: string; detail?: Readonly<Record<string, unknown>> }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      dep.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), READINESS_TIMEOUT_MS);
      }),
    ]);
    return { name: dep.name, ok: true, ...(detail ? { detail } : {}) };
  } catch (err) {
    return { name: dep.name, ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, lets in-flight requests finish, then drops keep-alive sockets as they go idle. */
export async function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A request in flight now leaves its socket idle when it ends; close such sockets as they
  // appear rather than waiting for the keep-alive timeout.
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearInterval(sweeper);
  clearTimeout(timer);
}
