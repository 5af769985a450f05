// Opt-in diagnostics for checks that measure a running process from outside (the fuzz run and
// the hostile-input check): `GET /debug/heap` forces a full garbage collection and answers the
// heap and resident set sizes. Off unless DIAGNOSTICS_ENABLED=true; refused in production,
// where a client able to force collections at will could stall the process.
import { ConfigError } from '../config.ts';
import type { RequestHandler } from './server.ts';

export const HEAP_PATH = '/debug/heap';

export interface HeapReport {
  /** Bytes of the V8 heap in use after the collection. */
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Resident set size of the process, in bytes. */
  readonly rss: number;
  readonly external: number;
  /** False when the process was started without `--expose-gc`: the figures are before any GC. */
  readonly gc: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Whether DIAGNOSTICS_ENABLED asks for the routes; throws ConfigError for a bad value or in production. */
export function diagnosticsEnabled(env: Env = process.env): boolean {
  const raw = env.DIAGNOSTICS_ENABLED?.trim().toLowerCase();
  if (!raw || ['false', '0', 'no', 'off'].includes(raw)) return false;
  if (!['true', '1', 'yes', 'on'].includes(raw)) {
    throw new ConfigError(`DIAGNOSTICS_ENABLED must be true or false, got "${env.DIAGNOSTICS_ENABLED}"`);
  }
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('DIAGNOSTICS_ENABLED is for tests and checks only; it is refused in production');
  }
  return true;
}

/** The diagnostics routes for createHttpServer: none unless enabled. */
export function diagnosticsRoutes(env: Env = process.env): Record<string, RequestHandler> {
  if (!diagnosticsEnabled(env)) return {};
  return {
    [HEAP_PATH]: (req, res) => {
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET', 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: 'method not allowed' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(heapAfterGc()));
    },
  };
}

export function heapAfterGc(): HeapReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice: the first pass runs finalizers whose objects only the second one frees.
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return {
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    rss: usage.rss,
    external: usage.external,
    gc: gc !== undefined,
  };
}
