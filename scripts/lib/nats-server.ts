// A nats-server from PATH with JetStream and a user per process, for a zero-configuration start
// (see infra.ts) and for the tests that need a NATS server of their own.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateCredentials, passwordEnv, type NatsCredentials } from '../../nats/credentials.ts';
import { authorizationConfig } from '../../nats/permissions.ts';
import { InfrastructureError, lineBuffer, waitForPort, type Address, type Started } from './local-servers.ts';

/** An executable on PATH (or in the sbin directories a non-root PATH lacks). */
export function findExecutable(
  name: string,
  extraDirs = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin'],
): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `nats-server --version` ("nats-server: v2.9.10") as [major, minor, patch]. */
export async function natsServerVersion(binary: string): Promise<[number, number, number]> {
  const { stdout } = await promisify(execFile)(binary, ['--version'], { timeout: 10_000 });
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!match) throw new InfrastructureError(`cannot read the version of ${binary}: "${stdout.trim()}"`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export const NATS_MISSING_MESSAGE =
  'nats-server not found on PATH and nothing answers NATS_URL: install it (apt-get install nats-server, or a release from https://github.com/nats-io/nats-server/releases) or set NATS_URL to a running NATS server with JetStream.';

export interface NatsServerOptions {
  readonly address: Address;
  /** Its store goes to `<dataDir>/nats`, its configuration to `<dataDir>/nats-server.conf`. */
  readonly dataDir: string;
  /** The NATS_NAMESPACE of the processes that will use it. */
  readonly namespace: string;
  /** Default: fresh random passwords; pass the same ones to restart a server under running processes. */
  readonly credentials?: NatsCredentials;
  /** How long it may take to answer (default 30 s). */
  readonly timeoutMs?: number;
  /** Serves the monitoring endpoints (/varz, /connz) on this loopback port; default none. */
  readonly monitorPort?: number;
}

export interface StartedNats extends Started {
  readonly url: string;
  readonly dir: string;
  readonly description: string;
  /** Every user's credential (generated for this run unless given). */
  readonly credentials: NatsCredentials;
}

/** Starts nats-server from PATH with JetStream and a user per process. */
export async function startNatsServer(options: NatsServerOptions): Promise<StartedNats> {
  const { address, dataDir } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const binary = findExecutable('nats-server');
  if (!binary) throw new InfrastructureError(NATS_MISSING_MESSAGE);
  const version = await natsServerVersion(binary);
  const dir = path.join(dataDir, 'nats');
  await mkdir(dir, { recursive: true });

  const host = address.host === 'localhost' ? '127.0.0.1' : address.host;
  const config = path.join(dataDir, 'nats-server.conf');
  await writeFile(config, localNatsConfig(version, options.namespace, options.monitorPort));
  const args = ['-c', config, '-a', host, '-p', String(address.port), '-js', '-sd', dir];
  // The configuration names the passwords' variables; the values only live in this process
  // and the server's environment.
  const credentials = options.credentials ?? generateCredentials();

  const output = lineBuffer();
  // Its own process group: a Ctrl-C in the terminal reaches the launcher, which stops the
  // services first and NATS after them.
  const child = spawn(binary, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...passwordEnv(credentials) },
  });
  child.stdout.setEncoding('utf8').on('data', output.push);
  child.stderr.setEncoding('utf8').on('data', output.push);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || spawnError) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitForPort(address, timeoutMs, () => {
      if (spawnError) return `could not run ${binary}: ${spawnError.message}`;
      if (child.exitCode !== null || child.signalCode !== null) {
        return `${binary} exited (${child.exitCode ?? child.signalCode}):\n${output.text()}`;
      }
      return undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `nats://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    dir,
    description: `nats-server ${version.join('.')}`,
    credentials,
    stop,
    abandon: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * The configuration of a nats-server started here (listen address and store come as flags):
 * a user per process with the permissions of nats/permissions.ts for the namespace.
 */
function localNatsConfig(
  [major, minor]: [number, number, number],
  namespace: string,
  monitorPort: number | undefined,
): string {
  const lines = ['# written by scripts/lib/nats-server.ts'];
  // sync_interval exists only in a config file, and only from 2.10 (2.9 rejects the key).
  if (major > 2 || (major === 2 && minor >= 10)) lines.push('jetstream {', '  sync_interval: always', '}');
  if (monitorPort !== undefined) lines.push(`http: 127.0.0.1:${monitorPort}`);
  return `${lines.join('\n')}\n${authorizationConfig(namespace)}`;
}
