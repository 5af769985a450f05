// One HTTP server per process: GraphQL, health and metrics share it. Routes are few and fixed,
// so a small table beats a framework.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { diagnosticsRoutes } from './diagnostics.ts';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** A dependency the process needs to do useful work; `/health/ready` reports each one. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: readonly ReadinessCheck[];
  /** Path → handler; `/health/*`, `/metrics` (and `/debug/heap` if DIAGNOSTICS_ENABLED) are added. */
  readonly routes: Readonly<Record<string, RequestHandler>>;
}

const READINESS_TIMEOUT_MS = 2000;

export function createHttpServer(options: HttpServerOptions): Server {
  const { logger, metrics, readiness, routes } = options;
  const table: Record<string, RequestHandler> = {
    ...routes,
    ...diagnosticsRoutes(),
    '/health/live': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/health/ready': async (_req, res) => {
      const results = await Promise.all(readiness.map((dep) => probe(dep)));
      const ready = results.every((r) => r.ok);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks: results });
    },
    '/metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
    },
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handler = table[path];
    const stopTimer = metrics.httpDuration.startTimer({
      route: handler ? path : 'unknown',
      method: req.method ?? 'GET',
    });
    res.on('finish', () => stopTimer({ status: String(res.statusCode) }));
    if (!handler) {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        logger.error({ err, path }, 'request handler failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal server error' });
        else res.destroy();
      });
  });
  // Subgraphs sit behind a gateway that keeps connections open; outlive its idle timeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

async function probe(dep: ReadinessCheck): Promise<{ name: string; ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dep.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), READINESS_TIMEOUT_MS);
      }),
    ]);
    return { name: dep.name, ok: true };
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
