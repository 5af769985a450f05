// The whole system for an end-to-end or fault test: every process on free ports, with a
// database prefix and NATS namespace of its own on the PostgreSQL and NATS already running
// (DATABASE_URL / NATS_URL, or the defaults; CI starts them), and a dispose() that stops the
// processes and removes that prefix's databases and that namespace's streams.
//
//   const system = await startTestSystem();
//   try { ... graphqlRequest(system.urls.gateway!, '{ __typename }') ... }
//   finally { await system.dispose(); }

import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { composeSupergraph } from '../../scripts/compose-supergraph.ts';
import { startSystem, type RunningSystem, type StartSystemOptions } from '../../scripts/lib/processes.ts';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL, PROCESSES } from '../../scripts/lib/services.ts';
import { splitServers } from '../../shared/messaging/nats.ts';
import { credentialEnv, type NatsCredential, type NatsCredentials } from '../../nats/credentials.ts';

export interface TestSystemOptions extends StartSystemOptions {
  /** Default: DATABASE_URL from the environment, else postgres://postgres@127.0.0.1:5432/postgres */
  readonly databaseUrl?: string;
  /** Default: NATS_URL from the environment, else nats://127.0.0.1:4222 (several: comma-separated) */
  readonly natsUrl?: string;
  /**
   * For a NATS that requires users (a test's own nats-server, scripts/lib/infra.ts): each process
   * connects as its own, clean-up as `admin`. Default: anonymous (the shared NATS).
   */
  readonly natsCredentials?: NatsCredentials;
  /** The DATABASE_PREFIX and NATS_NAMESPACE (default `t_<random>`: see testId). */
  readonly id?: string;
}

/** A fresh `t_<random>` id: a test system's database prefix and NATS namespace. */
export function testId(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

export interface TestSystem extends RunningSystem {
  /** `t_<random>`: the DATABASE_PREFIX and NATS_NAMESPACE of this system. */
  readonly id: string;
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** The users of a NATS that requires them (natsCredentials), else undefined. */
  readonly natsCredentials: NatsCredentials | undefined;
  /** Stops the processes, drops the databases, deletes the streams, removes the supergraph file. */
  dispose(): Promise<void>;
}

export interface TestResources {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** Databases named `<prefix>_...` are dropped. */
  readonly databasePrefix: string;
  /** Streams whose name starts with the namespace (and KV_/OBJ_ buckets named so) are deleted. */
  readonly natsNamespace: string;
  /** Who deletes them (default: anonymous). */
  readonly natsCredential?: NatsCredential;
}

export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const {
    databaseUrl: givenDatabaseUrl,
    natsUrl: givenNatsUrl,
    natsCredentials,
    id = testId(),
    ...rest
  } = options;
  const databaseUrl = givenDatabaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const natsUrl = givenNatsUrl ?? process.env.NATS_URL ?? DEFAULT_NATS_URL;
  const resources: TestResources = {
    databaseUrl,
    natsUrl,
    databasePrefix: id,
    natsNamespace: id,
    natsCredential: natsCredentials?.admin,
  };

  // A supergraph file of its own: parallel test files never write the repository's copy.
  const supergraphPath = options.supergraphPath ?? path.join(os.tmpdir(), `supergraph-${id}.graphql`);
  const ownSupergraph = options.supergraphPath === undefined;
  if (ownSupergraph) await writeFile(supergraphPath, await composeSupergraph());

  // The notifications subgraph's .eml files (no SMTP_URL), out of the repository's .data/.
  const mailDir = path.join(os.tmpdir(), `mail-${id}`);
  const cleanUp = async (): Promise<void> => {
    const results = await Promise.allSettled([
      dropTestResources(resources),
      rm(mailDir, { recursive: true, force: true }),
      ownSupergraph ? rm(supergraphPath, { force: true }) : Promise.resolve(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  let system: RunningSystem;
  try {
    system = await startSystem({
      ports: 'free',
      output: process.env.TEST_SYSTEM_OUTPUT === 'prefix' ? 'prefix' : 'silent',
      ...rest,
      supergraphPath,
      processEnv: natsCredentials ? withNatsUsers(natsCredentials, rest.processEnv) : rest.processEnv,
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        // Read only with REDIS_URL (a test's, or the shell's): systems never share a limit.
        REDIS_KEY_PREFIX: `${id}:`,
        MAIL_DIR: mailDir,
        ...rest.env,
        DATABASE_URL: databaseUrl,
        DATABASE_PREFIX: id,
        NATS_URL: natsUrl,
        NATS_NAMESPACE: id,
      },
    });
  } catch (error) {
    await cleanUp().catch(() => {});
    throw error;
  }

  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= (async () => {
      try {
        await system.stop();
      } finally {
        await cleanUp();
      }
    })());

  return {
    ...system,
    id,
    databaseUrl,
    natsUrl,
    natsCredentials,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

/** How a test connects to the system's NATS: as admin when it requires users. */
export function natsAdminOptions(system: Pick<TestSystem, 'natsUrl' | 'natsCredentials'>): {
  servers: string[];
  user?: string;
  pass?: string;
} {
  const admin = system.natsCredentials?.admin;
  return {
    servers: splitServers(system.natsUrl),
    ...(admin ? { user: admin.user, pass: admin.password } : {}),
  };
}

/** Each process's NATS_USER / NATS_PASSWORD under its own further variables. */
function withNatsUsers(
  credentials: NatsCredentials,
  processEnv: StartSystemOptions['processEnv'],
): StartSystemOptions['processEnv'] {
  return Object.fromEntries(
    PROCESSES.map((name) => [name, { ...credentialEnv(credentials[name]), ...processEnv?.[name] }]),
  );
}

/** Drops `<prefix>_*` databases (WITH FORCE) and deletes the namespace's JetStream streams. */
export async function dropTestResources(resources: TestResources): Promise<void> {
  if (!/^[a-z][a-z0-9_]*$/.test(resources.databasePrefix) || resources.natsNamespace.length < 4) {
    throw new Error(`refusing to drop resources of an unsafe prefix "${resources.databasePrefix}"`);
  }
  const results = await Promise.allSettled([dropDatabases(resources), deleteStreams(resources)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function dropDatabases({ databaseUrl, databasePrefix }: TestResources): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      // left() rather than LIKE: "_" in the prefix is a LIKE wildcard.
      'SELECT datname FROM pg_database WHERE left(datname, length($1) + 1) = $1 || $2',
      [databasePrefix, '_'],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

async function deleteStreams({ natsUrl, natsNamespace, natsCredential }: TestResources): Promise<void> {
  const nc = await connect({
    servers: splitServers(natsUrl),
    ...(natsCredential ? { user: natsCredential.user, pass: natsCredential.password } : {}),
  });
  try {
    const jsm = await jetstreamManager(nc);
    const prefixes = [natsNamespace, `KV_${natsNamespace}`, `OBJ_${natsNamespace}`];
    const names: string[] = [];
    for await (const name of jsm.streams.names()) {
      if (prefixes.some((prefix) => name.startsWith(prefix))) names.push(name);
    }
    for (const name of names) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

export interface GraphQLResponse<TData = Record<string, unknown>> {
  data?: TData | null;
  errors?: {
    message: string;
    path?: (string | number)[];
    extensions?: { code?: string; [key: string]: unknown };
  }[];
  extensions?: Record<string, unknown>;
}

/** POSTs a GraphQL operation and returns the parsed body (whatever the HTTP status); `headers` are added. */
export async function graphqlRequest<TData = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphQLResponse<TData>;
  } catch {
    throw new Error(
      `${url} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 500)}`,
    );
  }
}
