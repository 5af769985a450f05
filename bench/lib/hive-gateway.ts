// Hive Gateway, the peer bench/gateway.ts measures ours against: installed on first use into
// bench/peers/ (its own package.json and lock, outside the project's dependencies; Hive Gateway
// 2.15 installs from this registry only with the npm override for @graphql-tools/batch-execute
// that the package.json carries), then run as one process (`--fork 1`, as ours is one) on a
// supergraph file, with bench/peers/gateway.config.ts.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PEERS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
const BIN = path.join(PEERS, 'node_modules', '@graphql-hive', 'gateway', 'dist', 'bin.js');

export interface RunningPeer {
  readonly url: string;
  readonly pid: number;
  /** Its version, from its package.json. */
  readonly version: string;
  stop(): Promise<void>;
}

/** Installs bench/peers/ with npm unless it is installed already. */
export function ensurePeersInstalled(): void {
  if (existsSync(BIN)) return;
  console.log('installing Hive Gateway into bench/peers/ (first use) ...');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: PEERS, stdio: 'inherit' });
}

export async function startHiveGateway(options: {
  readonly supergraphPath: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}): Promise<RunningPeer> {
  ensurePeersInstalled();
  const args = [
    BIN,
    'supergraph',
    options.supergraphPath,
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port),
  ];
  args.push('--fork', '1', '--config-path', path.join(PEERS, 'gateway.config.ts'));
  const child = spawn(process.execPath, args, {
    cwd: PEERS,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${options.port}`;
  await waitUntilReady(`${base}/readiness`, child, () => output);
  const manifest = path.join(PEERS, 'node_modules', '@graphql-hive', 'gateway', 'package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return { url: `${base}/graphql`, pid: child.pid!, version, stop: () => stop(child) };
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Hive Gateway exited (${child.exitCode}):\n${output()}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`Hive Gateway was not ready within 60 s:\n${output()}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
