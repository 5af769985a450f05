// startSystem against stand-in services (a few lines of node:http each, written to a temporary
// directory laid out like the repository), so the launcher's lifecycle is tested on its own:
// readiness, environment, output, kill -9 and restart, failures half-way, clean stop.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { HEAP_LIMIT_MIB, PROCESSES, entryFile, type ProcessName } from './services.ts';
import { startSystem, type OutputLine, type RunningSystem } from './processes.ts';
import { SystemStartError } from './readiness.ts';

// Answers /health/ready (after READY_DELAY_MS), echoes its environment at /env, logs one line,
// exits on SIGTERM; FAIL_AT_START makes it exit at once with code 3, and so does the file
// CRASH_IF_EXISTS names once it exists (a crash loop on demand).
const FAKE_SERVICE = `
import http from 'node:http';
import v8 from 'node:v8';
import { existsSync } from 'node:fs';
if (process.env.FAIL_AT_START) { console.error('boom: cannot start'); process.exit(3); }
if (process.env.CRASH_IF_EXISTS && existsSync(process.env.CRASH_IF_EXISTS)) { console.error('crashing as told'); process.exit(3); }
const readyAt = Date.now() + Number(process.env.READY_DELAY_MS ?? 0);
const server = http.createServer((req, res) => {
  if (req.url === '/health/ready') { res.statusCode = Date.now() >= readyAt ? 200 : 503; res.end('{}'); return; }
  if (req.url === '/env') { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(process.env)); return; }
  if (req.url === '/heap-limit') { res.end(String(v8.getHeapStatistics().heap_size_limit)); return; }
  res.statusCode = 404; res.end();
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: process.env.PORT })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'processes-test-'));
  for (const name of PROCESSES) {
    const file = path.join(root, entryFile(name));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, FAKE_SERVICE);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let system: RunningSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves with the first line of `lines` from `from` on that matches, as soon as it is there. */
async function lineMatching(lines: OutputLine[], pattern: RegExp, from = 0): Promise<OutputLine> {
  for (;;) {
    const found = lines.slice(from).find((l) => pattern.test(l.line));
    if (found) return found;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function envOf(url: string): Promise<Record<string, string>> {
  return (await (await fetch(`${url}/env`)).json()) as Record<string, string>;
}

describe('startSystem', () => {
  it('starts every process on free ports, wires their URLs and stops them all', async () => {
    const lines: OutputLine[] = [];
    system = await startSystem({
      cwd: root,
      ports: 'free',
      env: { DATABASE_PREFIX: 't_fake' },
      processEnv: { orders: { ORDERS_ONLY: 'yes' } },
      output: (line) => lines.push(line),
    });
    expect(system.processes.map((p) => p.id)).toEqual([...PROCESSES]);
    const ports = new Set(system.processes.map((p) => p.port));
    expect(ports.size).toBe(PROCESSES.length);

    const users = system.process('users');
    const gatewayEnv = await envOf(system.process('gateway').baseUrl);
    expect(gatewayEnv.PORT).toBe(String(system.process('gateway').port));
    expect(gatewayEnv.USERS_URL).toBe(users.graphqlUrl);
    expect(gatewayEnv.PAYMENTS_URL).toBe(system.urls.subgraphs.payments);
    expect(gatewayEnv.DATABASE_PREFIX).toBe('t_fake');
    expect(gatewayEnv.APOLLO_TELEMETRY_DISABLED).toBe('true');
    const ordersEnv = await envOf(system.process('orders').baseUrl);
    expect(ordersEnv.USERS_JWKS_URL).toBe(`${users.baseUrl}/.well-known/jwks.json`);
    expect(ordersEnv.ORDERS_ONLY).toBe('yes');
    // One random service secret for the whole system, the same in every process.
    expect(gatewayEnv.SERVICE_SECRET).toMatch(/^[\w-]{40,}$/);
    expect(ordersEnv.SERVICE_SECRET).toBe(gatewayEnv.SERVICE_SECRET);
    expect(system.env.SERVICE_SECRET).toBe(gatewayEnv.SERVICE_SECRET);
    expect(system.urls.gatewayWs).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/graphql$/);

    expect(lines.some((l) => l.id === 'inventory' && l.line.includes('listening'))).toBe(true);

    // Each process runs with its own heap limit (services.ts), not one derived from the machine
    // (the limit V8 reports adds the young generation to it).
    const limitMiB = async (name: ProcessName) =>
      Number(await (await fetch(`${system!.process(name).baseUrl}/heap-limit`)).text()) / 2 ** 20;
    for (const name of PROCESSES) {
      expect(await limitMiB(name)).toBeGreaterThanOrEqual(HEAP_LIMIT_MIB[name]);
      expect(await limitMiB(name)).toBeLessThan(HEAP_LIMIT_MIB[name] * 2);
    }

    const pids = system.processes.map((p) => p.pid!);
    await system.stop();
    expect(system.processes.every((p) => !p.running)).toBe(true);
    expect(pids.some(isAlive)).toBe(false);
    expect(system.process('users').lastExit).toEqual({ code: 0, signal: null });
  });

  it('kills a process with SIGKILL and restarts it on the same port', async () => {
    system = await startSystem({
      cwd: root,
      ports: 'free',
      processes: ['orders', 'inventory'],
      output: 'silent',
    });
    const orders = system.process('orders');
    const port = orders.port;
    const exit = await system.kill('orders');
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(orders.running).toBe(false);
    await expect(fetch(`${orders.baseUrl}/health/ready`)).rejects.toThrow();

    await system.restart('orders');
    expect(orders.running).toBe(true);
    expect(orders.port).toBe(port);
    expect(orders.restarts).toBe(1);
    expect((await fetch(`${orders.baseUrl}/health/ready`)).status).toBe(200);
  });

  it('runs extra instances on ports of their own', async () => {
    system = await startSystem({
      cwd: root,
      ports: 'free',
      processes: ['inventory'],
      instances: { inventory: 2 },
      output: 'silent',
    });
    expect(system.processes.map((p) => p.id)).toEqual(['inventory', 'inventory#2']);
    const second = system.process('inventory#2');
    expect(second.port).not.toBe(system.process('inventory').port);
    expect((await fetch(`${second.baseUrl}/health/ready`)).status).toBe(200);
  });

  it('waits for readiness, not only for the port', async () => {
    const started = Date.now();
    system = await startSystem({
      cwd: root,
      ports: 'free',
      processes: ['products'],
      env: { READY_DELAY_MS: '700' },
      output: 'silent',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  });

  it('names the process that failed, shows its output and stops the others', async () => {
    const lines: OutputLine[] = [];
    const attempt = startSystem({
      cwd: root,
      ports: 'free',
      processEnv: { payments: { FAIL_AT_START: '1' }, users: { READY_DELAY_MS: '1000' } },
      output: (line) => lines.push(line),
    });
    const error = (await attempt.catch((e: unknown) => e)) as SystemStartError;
    expect(error).toBeInstanceOf(SystemStartError);
    expect(error.processId).toBe('payments');
    expect(error.message).toMatch(/payments exited \(code 3\) before it was ready/);
    expect(error.message).toContain('boom: cannot start');
    // nothing it started is left: their listening lines name their ports, which are closed now
    const ports = lines.flatMap((l) => {
      const match = /"port":"(\d+)"/.exec(l.line);
      return match ? [Number(match[1])] : [];
    });
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) await expect(fetch(`http://127.0.0.1:${port}/health/ready`)).rejects.toThrow();
  });

  it('times out with the process name when it never gets ready', async () => {
    const attempt = startSystem({
      cwd: root,
      ports: 'free',
      processes: ['users'],
      env: { READY_DELAY_MS: '60000' },
      readyTimeoutMs: 800,
      output: 'silent',
    });
    await expect(attempt).rejects.toThrow(
      /users was not ready within 800 ms \(GET .*\/health\/ready: HTTP 503/,
    );
  });

  it('says which entry file is missing', async () => {
    await expect(startSystem({ cwd: os.tmpdir(), output: 'silent' })).rejects.toThrow(
      /users cannot start: subgraphs\/users\/src\/main.ts does not exist/,
    );
  });
});

describe('startSystem with supervision', () => {
  it('restarts a process killed from outside, says so, and keeps its output in its log file', async () => {
    const lines: OutputLine[] = [];
    const logDir = path.join(root, 'logs-restart');
    system = await startSystem({
      cwd: root,
      ports: 'free',
      processes: ['inventory', 'orders'],
      output: (line) => lines.push(line),
      supervise: { initialDelayMs: 100 },
      logDir,
    });
    const inventory = system.process('inventory');
    const before = inventory.pid!;
    process.kill(before, 'SIGKILL');

    const exited = await lineMatching(lines, /exited/);
    expect(exited).toMatchObject({
      id: 'inventory',
      source: 'supervisor',
      line: 'exited (SIGKILL); restarting in 0.1 s (restart 1)',
    });
    await lineMatching(lines, /ready again \(restart 1\)/);
    expect(inventory.running).toBe(true);
    expect(inventory.pid).not.toBe(before);
    expect(inventory.restarts).toBe(1);
    expect((await fetch(`${inventory.baseUrl}/health/ready`)).status).toBe(200);

    await system.stop();
    const log = (await readFile(path.join(logDir, 'inventory.log'), 'utf8')).trim().split('\n');
    // both runs' own lines, and the supervisor's between them
    expect(log.filter((l) => l.includes('listening'))).toHaveLength(2);
    expect(JSON.parse(log[1]!)).toMatchObject({ service: 'supervisor', msg: exited.line });
  });

  it('gives up on a crash loop, naming the log; restart() starts afresh', async () => {
    const lines: OutputLine[] = [];
    const logDir = path.join(root, 'logs-loop');
    const crashFlag = path.join(root, 'crash-now');
    system = await startSystem({
      cwd: root,
      ports: 'free',
      processes: ['payments'],
      env: { CRASH_IF_EXISTS: crashFlag },
      output: (line) => lines.push(line),
      supervise: { initialDelayMs: 10, crashLoopExits: 3 },
      logDir,
    });
    await writeFile(crashFlag, '');
    try {
      process.kill(system.process('payments').pid!, 'SIGKILL');
      const gaveUp = await lineMatching(lines, /crash loop/);
      const logFile = path.join(logDir, 'payments.log');
      expect(gaveUp.line).toBe(
        `exited 3 times within 60 s (code 3): crash loop, not restarting it; its output is in ${logFile}`,
      );
      expect(lines.filter((l) => l.source === 'supervisor').map((l) => l.line)).toEqual([
        'exited (SIGKILL); restarting in 10 ms (restart 1)',
        'exited (code 3); restarting in 20 ms (restart 2)',
        gaveUp.line,
      ]);
      expect(system.process('payments').running).toBe(false);
      expect(await readFile(logFile, 'utf8')).toContain('crashing as told');
    } finally {
      await rm(crashFlag, { force: true });
    }
    await system.restart('payments');
    expect(system.process('payments').running).toBe(true);
  });

  it('leaves a process stopped with kill() down, and says nothing about it', async () => {
    const lines: OutputLine[] = [];
    system = await startSystem({
      cwd: root,
      ports: 'free',
      processes: ['orders'],
      output: (line) => lines.push(line),
      supervise: { initialDelayMs: 0 },
    });
    await system.kill('orders');
    // The supervisor decides in the exit handler, before kill() resolves: a restart would show now.
    expect(lines.filter((l) => l.source === 'supervisor')).toEqual([]);
    expect(system.process('orders').running).toBe(false);
  });
});
