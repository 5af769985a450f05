// A NATS server of a test's own, to stop, start and wipe at will without disturbing the shared
// one: the nats-server `npm start` runs when none answers (scripts/lib/infra.ts), with a user per
// process as in production, on a free port with its store in a temporary directory.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NatsCredentials } from '../../nats/credentials.ts';
import { ensureInfrastructure, type Infrastructure } from '../../scripts/lib/infra.ts';
import { freePort } from '../../scripts/lib/ports.ts';
import { DEFAULT_DATABASE_URL } from '../../scripts/lib/services.ts';

export interface OwnNats {
  readonly url: string;
  /** Its users (the same across restarts), for startTestSystem's `natsCredentials`. */
  readonly credentials: NatsCredentials;
  /** Stops the server; its store stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same users; `wiped`: its store emptied first. */
  start(options?: { readonly wiped?: boolean }): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

/** `namespace`: the NATS_NAMESPACE its users' permissions name (the test system's id). */
export async function startOwnNats(namespace: string): Promise<OwnNats> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'own-nats-'));
  const url = `nats://127.0.0.1:${await freePort()}`;
  let credentials: NatsCredentials | undefined;
  const launch = async (): Promise<Infrastructure> => {
    const infra = await ensureInfrastructure({
      // A PostgreSQL that runs (ensureInfrastructure would otherwise start one).
      databaseUrl: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
      natsUrl: url,
      dataDir: dir,
      natsNamespace: namespace,
      natsCredentials: credentials,
    });
    if (!infra.started.nats) {
      await infra.stop();
      throw new Error(`something else answers on ${url}`);
    }
    credentials = infra.natsCredentials;
    return infra;
  };
  let running: Infrastructure | undefined;
  try {
    running = await launch();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    credentials: credentials!,
    async stop() {
      const server = running;
      running = undefined;
      await server?.stop();
    },
    async start(options = {}) {
      if (running) return;
      // Where startNatsServer keeps JetStream's store (scripts/lib/nats-server.ts).
      if (options.wiped) await rm(path.join(dir, 'nats'), { recursive: true, force: true });
      running = await launch();
    },
    async dispose() {
      await running?.stop();
      running = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
