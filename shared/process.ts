// What every process entry does: configure logging, start, and stop cleanly on SIGTERM/SIGINT.
// A failure at start-up is printed in one line and exits 1; later failures are logged, never
// allowed to crash the process silently.
import { ConfigError } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { initTracing, type Tracing } from './observability/tracing.ts';

export interface Stoppable {
  stop(): Promise<void>;
}

export async function runService(
  service: string,
  start: (logger: Logger) => Promise<Stoppable>,
): Promise<void> {
  const logger = createLogger(service, process.env.LOG_LEVEL ?? 'info');
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let running: Stoppable;
  let tracing: Tracing;
  try {
    tracing = initTracing(service, process.env, logger);
    running = await start(logger);
  } catch (err) {
    if (err instanceof ConfigError) logger.fatal(`configuration error: ${err.message}`);
    else logger.fatal({ err }, `${service} failed to start`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    running
      .stop()
      // Spans still buffered are exported last, after everything that could make more.
      .finally(() =>
        tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'tracing shutdown failed')),
      )
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
