// `npm start` in a terminal that is closed: the launcher gets SIGHUP, its terminal gone under it,
// and must stop every process it started as Ctrl-C would (each drains and says it stopped), not
// die and leave them running. The terminal is a real pseudo-terminal (util-linux's `script`),
// closed by killing the `script` holding it; PostgreSQL and NATS are the ones already running.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { defaultNodePath } from '../scripts/lib/processes.ts';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL, PROCESSES, REPO_ROOT } from '../scripts/lib/services.ts';
import { dropTestResources, testId, type TestResources } from '../test/support/system.ts';

const START_TIMEOUT_MS = 120_000;
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((file) => existsSync(file));

/** The processes `pid` started (Linux). */
async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

describe('npm start in a terminal that closes', () => {
  const id = testId();
  const resources: TestResources = {
    databaseUrl: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    natsUrl: process.env.NATS_URL ?? DEFAULT_NATS_URL,
    databasePrefix: id,
    natsNamespace: id,
  };
  let dataDir: string | undefined;
  let terminal: ChildProcess | undefined;
  /** The launcher and what it started, SIGKILLed at the end if the test left any. */
  const pids: number[] = [];

  afterAll(async () => {
    if (terminal?.exitCode === null && terminal.signalCode === null) terminal.kill('SIGKILL');
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await dropTestResources(resources);
  });

  it(
    'stops every process it started, each draining as on Ctrl-C',
    async () => {
      if (!SCRIPT) throw new Error("this test needs util-linux's script (apt-get install bsdutils)");
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'hangup-'));
      const command = [defaultNodePath(), 'scripts/start.ts', '--free-ports', '--data-dir', dataDir];
      // `exec`: script runs the command through $SHELL -c, and a shell such as dash (the one set
      // here, as on CI) forks for it rather than becoming it; the test finds the launcher as the
      // terminal's own process.
      terminal = spawn(SCRIPT, ['-qfec', `exec ${command.join(' ')}`, '/dev/null'], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          SHELL: '/bin/sh',
          NODE_ENV: 'development',
          DATABASE_URL: resources.databaseUrl,
          NATS_URL: resources.natsUrl,
          DATABASE_PREFIX: id,
          NATS_NAMESPACE: id,
          SEED_DEMO: 'false',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      terminal.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      terminal.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const started = await until(
        () => /^Gateway\s+http:/m.test(output) || terminal!.exitCode !== null,
        START_TIMEOUT_MS,
      );
      expect({ started, exitCode: terminal.exitCode }).toEqual({ started: true, exitCode: null });
      expect(output).toMatch(/^Gateway\s+http:/m);

      const [launcher] = await childrenOf(terminal.pid!);
      expect(launcher).toBeDefined();
      const processes = await childrenOf(launcher!);
      pids.push(launcher!, ...processes);
      expect(processes).toHaveLength(PROCESSES.length);

      // The terminal closes: the kernel hangs up its session, the launcher first.
      terminal.kill('SIGKILL');
      expect(await until(() => pids.every((pid) => !alive(pid)), 30_000)).toBe(true);

      for (const name of PROCESSES) {
        const log = await readFile(path.join(dataDir, 'logs', `${name}.log`), 'utf8');
        const stopped = log.split('\n').some((line) => line.includes(`"msg":"${name} stopped"`));
        expect({ name, stopped }).toEqual({ name, stopped: true });
      }
    },
    START_TIMEOUT_MS + 60_000,
  );
});
