// Supervision, as `npm start` runs it (the same supervisor in scripts/lib/processes.ts): a
// process killed from outside comes back by itself, and one that keeps crashing is given up on
// with a message that names its log.
//
// In CI one subgraph (inventory) stands for all; `SUPERVISION_KILL=all` kills every subgraph and
// the gateway in turn (a few seconds more each).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { OutputLine } from '../../scripts/lib/processes.ts';
import { PROCESSES, type ProcessName } from '../../scripts/lib/services.ts';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';

const KILLED: readonly ProcessName[] = process.env.SUPERVISION_KILL === 'all' ? PROCESSES : ['inventory'];
/** Three exits within a minute make a crash loop here (npm start's default is five). */
const CRASH_LOOP_EXITS = 3;

/** Every line the system printed, and a way to await the next one that matches. */
class Lines {
  readonly all: OutputLine[] = [];
  private readonly waiters = new Set<() => void>();

  readonly add = (line: OutputLine): void => {
    this.all.push(line);
    for (const wake of this.waiters) wake();
  };

  /** The first supervisor line about `id` at index >= `from` that matches, as soon as it is printed. */
  async next(id: string, pattern: RegExp, from: number, timeoutMs = 60_000): Promise<string> {
    const find = () =>
      this.all.slice(from).find((l) => l.id === id && l.source === 'supervisor' && pattern.test(l.line))
        ?.line;
    let wake = (): void => {};
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<string>((resolve, reject) => {
        wake = () => {
          const found = find();
          if (found !== undefined) resolve(found);
        };
        this.waiters.add(wake);
        timer = setTimeout(() => {
          const recent = this.all.slice(from).filter((l) => l.id === id);
          reject(
            new Error(`no line ${pattern} from ${id}; it printed:\n${recent.map((l) => l.line).join('\n')}`),
          );
        }, timeoutMs);
        wake();
      });
    } finally {
      this.waiters.delete(wake);
      clearTimeout(timer);
    }
  }
}

let system: TestSystem | undefined;
let logDir: string;
const lines = new Lines();

beforeAll(async () => {
  logDir = await mkdtemp(path.join(os.tmpdir(), 'supervision-logs-'));
  system = await startTestSystem({
    supervise: { crashLoopExits: CRASH_LOOP_EXITS, crashLoopWindowMs: 60_000 },
    logDir,
    output: lines.add,
  });
}, 120_000);

afterAll(async () => {
  await system?.dispose();
  if (logDir) await rm(logDir, { recursive: true, force: true });
}, 60_000);

async function readyStatus(baseUrl: string): Promise<number> {
  return (await fetch(`${baseUrl}/health/ready`)).status;
}

describe('supervision', () => {
  it.each(KILLED)('restarts %s after a SIGKILL from outside, and it is ready again', async (id) => {
    const sys = system!;
    const managed = sys.process(id);
    const before = managed.pid!;
    const from = lines.all.length;

    process.kill(before, 'SIGKILL');

    expect(await lines.next(id, /exited/, from)).toBe('exited (SIGKILL); restarting in 0.5 s (restart 1)');
    await lines.next(id, /ready again/, from);
    expect(managed.running).toBe(true);
    expect(managed.pid).not.toBe(before);
    expect(managed.restarts).toBe(1);
    expect(await readyStatus(managed.baseUrl)).toBe(200);
    expect(await readyStatus(sys.process('gateway').baseUrl)).toBe(200);
  });

  it('gives up on a process in a crash loop and names its log; a deliberate restart brings it back', async () => {
    const sys = system!;
    const payments = sys.process('payments');
    // A deliberate restart clears the record of the kill above, if payments had one.
    if (KILLED.includes('payments')) await sys.restart('payments');
    const from = lines.all.length;
    // Something else takes its port while it is down: every restart then fails to listen and
    // exits at once, a crash loop of the process's own making.
    // It holds no connection (the gateway's would keep close() waiting).
    const squatter = net.createServer((socket) => socket.destroy());
    try {
      process.kill(payments.pid!, 'SIGKILL');
      await lines.next('payments', /restarting in/, from);
      await new Promise<void>((resolve, reject) => {
        squatter.once('error', reject);
        squatter.listen(payments.port, '127.0.0.1', resolve);
      });

      const logFile = path.join(logDir, 'payments.log');
      const gaveUp = await lines.next('payments', /crash loop/, from);
      expect(gaveUp).toBe(
        `exited ${CRASH_LOOP_EXITS} times within 60 s (code 1): crash loop, not restarting it; its output is in ${logFile}`,
      );
      const restarts = lines.all
        .slice(from)
        .filter((l) => l.id === 'payments' && l.source === 'supervisor' && /restarting in/.test(l.line))
        .map((l) => l.line);
      expect(restarts).toEqual([
        'exited (SIGKILL); restarting in 0.5 s (restart 1)',
        'exited (code 1); restarting in 1 s (restart 2)',
      ]);
      expect(payments.running).toBe(false);
      // The log holds what the process said about its failure.
      expect(await readFile(logFile, 'utf8')).toContain('EADDRINUSE');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }

    await sys.restart('payments');
    expect(payments.running).toBe(true);
    expect(await readyStatus(payments.baseUrl)).toBe(200);
  });
});
