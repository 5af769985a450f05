// A logger whose lines a test reads: each one kept, parsed, and awaitable.
//
//   const log = recordLogs();
//   await startSomething({ logger: log.logger });
//   const line = await log.next((l) => l.level === 'warn');

import { pino, type Logger } from 'pino';
import { Waiters } from './waiters.ts';

export interface LogLine {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface LogRecorder {
  readonly logger: Logger;
  readonly lines: readonly LogLine[];
  /** Resolves with the first line (kept so far or to come) that `matches`. */
  next(matches: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

export function recordLogs(level = 'info'): LogRecorder {
  const lines: LogLine[] = [];
  const waiters = new Waiters();
  const logger = pino(
    { level, formatters: { level: (label) => ({ level: label }) } },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
        waiters.wake();
      },
    },
  );
  return {
    logger,
    lines,
    async next(matches, timeoutMs = 5000) {
      await waiters.until(
        () => lines.some(matches),
        () => new Error(`no such line within ${timeoutMs} ms; lines: ${JSON.stringify(lines)}`),
        timeoutMs,
      );
      return lines.find(matches)!;
    },
  };
}
