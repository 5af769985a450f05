// What every process entry does: configure logging, start, and stop cleanly on SIGTERM/SIGINT,
// and on SIGHUP (a service run in a terminal that closes; no process here reloads on it).
// A failure at start-up is printed in one line and exits 1; later failures are logged, never
// allowed to crash the process silently.
//
// Last resort, for what no code caught:
//   an uncaught exception   logged (fatal), then a bounded stop and exit 1, for the supervisor
//                           to restart the process: an exception thrown from a callback leaves
//                           state half-changed, so carrying on is not safe.
//   an unhandled rejection  logged (error) and the process goes on: it is a promise whose
//                           failure nobody awaited, one operation's error path, not a broken
//                           process (Node's default would exit on it).
import { ConfigError } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { initTracing, type Tracing } from './observability/tracing.ts';

/** How long a stop on SIGTERM/SIGINT/SIGHUP may take before the process exits anyway. */
export const STOP_MS = 20_000;
/** Shorter after a crash: the process is in an unknown state and should be replaced soon. */
const CRASH_STOP_MS = 5_000;

export interface Stoppable {
  stop(): Promise<void>;
}

export async function runService(
  service: string,
  start: (logger: Logger) => Promise<Stoppable>,
): Promise<void> {
  const logger = createLogger(service, process.env.LOG_LEVEL ?? 'info');
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let running: Stoppable | undefined;
  let tracing: Tracing | undefined;
  let exitCode = 0;
  let stopping = false;
  const shutdown = (reason: string, code: number, graceMs: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, graceMs);
    force.unref();
    Promise.resolve()
      .then(() => running?.stop())
      // Spans still buffered are exported last, after everything that could make more.
      .finally(() =>
        tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'tracing shutdown failed')),
      )
      .then(
        () => process.exit(exitCode),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('uncaughtException', (err, origin) => {
    logger.fatal({ err, origin }, 'uncaught exception; stopping');
    shutdown('uncaught exception', 1, CRASH_STOP_MS);
  });
  try {
    tracing = await initTracing(service, process.env, logger);
    running = await start(logger);
  } catch (err) {
    if (err instanceof ConfigError) logger.fatal(`configuration error: ${err.message}`);
    else logger.fatal({ err }, `${service} failed to start`);
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => shutdown(signal, 0, STOP_MS));
}
