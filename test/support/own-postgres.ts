// A PostgreSQL server of a test's own, to stop and start at will without disturbing the shared
// one: the embedded server `npm start` uses when none runs (scripts/lib/infra.ts), on a free
// port with its data in a temporary directory.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureInfrastructure, type Infrastructure } from '../../scripts/lib/infra.ts';
import { freePort } from '../../scripts/lib/ports.ts';

export interface OwnPostgres {
  /** Its URL with user and password (the same across restarts). */
  readonly url: string;
  /** Stops the server (fast shutdown: sessions are ended); the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

/** `natsUrl`: a NATS that runs (ensureInfrastructure would otherwise start one). */
export async function startOwnPostgres(natsUrl: string): Promise<OwnPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'own-postgres-'));
  // As root, PostgreSQL runs as the `postgres` user, who must be able to reach its directory.
  await chmod(dir, 0o755);
  // Without a password here: ensureInfrastructure makes one and keeps it in `dir`.
  const plainUrl = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
  const launch = async (): Promise<Infrastructure> => {
    const infra = await ensureInfrastructure({ databaseUrl: plainUrl, natsUrl, dataDir: dir });
    if (!infra.started.postgres) {
      await infra.stop();
      throw new Error(`something else answers on ${plainUrl}`);
    }
    return infra;
  };
  let running: Infrastructure | undefined;
  try {
    running = await launch();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const url = running.databaseUrl;
  return {
    url,
    async stop() {
      const server = running;
      running = undefined;
      await server?.stop();
    },
    async start() {
      running ??= await launch();
    },
    async dispose() {
      await running?.stop();
      running = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
