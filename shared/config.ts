// Configuration read from the environment, validated once at start-up. Every value has a
// development default so `npm start` needs no set-up; production refuses the unsafe ones.
import type { NatsCredential } from '../nats/credentials.ts';
import { weakSecretReason } from './auth/service-identity.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function readString(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`${name} is required`);
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

export function readInt(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function readUrl(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = readString(env, name, fallback);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${url.protocol}"`);
  }
  return raw;
}

/**
 * A comma-separated list of URLs (`nats://a:4222,nats://b:4222`), each checked as readUrl does:
 * the form every variable that may name several servers or instances takes. At least one.
 */
export function readUrls(env: Env, name: string, fallback: string, protocols: string[]): string[] {
  const raw = readString(env, name, fallback);
  const items = raw.split(',').map((item) => item.trim());
  if (items.some((item) => !item)) {
    throw new ConfigError(`${name} is a comma-separated list of URLs with no empty item, got "${raw}"`);
  }
  const urls = items.map((item) => readUrl({ [name]: item }, name, '', protocols));
  return [...new Set(urls)];
}

/** Settings every process shares. */
export interface CommonConfig {
  readonly service: string;
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  /** NATS_URL as given: one server, or several comma-separated (a cluster's nodes). */
  readonly natsUrl: string;
  /** Each server of NATS_URL: the client connects to one and fails over to the others. */
  readonly natsServers: readonly string[];
  /** This process's NATS user (NATS_USER / NATS_PASSWORD); none: connect anonymously. */
  readonly natsCredentials: NatsCredential | undefined;
  /** Prefix for subjects, streams and consumers, so several systems can share one NATS. */
  readonly natsNamespace: string;
  /** Stream replicas: 1 on one server, 3 in a JetStream cluster. */
  readonly natsReplicas: number;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>`; required in production. */
  readonly metricsToken: string | undefined;
}

/** The shortest METRICS_TOKEN accepted: a guessable token protects nothing. */
export const MIN_METRICS_TOKEN_LENGTH = 16;

/** METRICS_TOKEN, checked; production refuses to run without one (see readCommonConfig). */
export function readMetricsToken(env: Env, production = env.NODE_ENV === 'production'): string | undefined {
  const token = env.METRICS_TOKEN?.trim();
  if (!token) {
    if (production) {
      throw new ConfigError(
        'METRICS_TOKEN is required in production: without it /metrics is open to anyone who reaches the port',
      );
    }
    return undefined;
  }
  if (production && token.length < MIN_METRICS_TOKEN_LENGTH) {
    throw new ConfigError(
      `METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN_LENGTH} characters in production`,
    );
  }
  return token;
}

/**
 * The interface to listen on when HOST is not set. Subgraphs default to loopback: only the
 * gateway and the other services on this machine reach them (containers set HOST=0.0.0.0 and
 * rely on their network instead). The gateway, the public face, passes '0.0.0.0'.
 */
export const DEFAULT_SUBGRAPH_HOST = '127.0.0.1';

export function readCommonConfig(
  service: string,
  defaultPort: number,
  env: Env = process.env,
  defaultHost = DEFAULT_SUBGRAPH_HOST,
): CommonConfig {
  const namespace = readString(env, 'NATS_NAMESPACE', '');
  if (namespace && !/^[A-Za-z0-9_-]+$/.test(namespace)) {
    throw new ConfigError('NATS_NAMESPACE may hold only letters, digits, "_" and "-"');
  }
  const production = env.NODE_ENV === 'production';
  const natsServers = readUrls(env, 'NATS_URL', 'nats://127.0.0.1:4222', ['nats:', 'tls:', 'ws:', 'wss:']);
  return {
    service,
    production,
    port: readInt(env, 'PORT', defaultPort, 0, 65535),
    host: readString(env, 'HOST', defaultHost),
    logLevel: readString(env, 'LOG_LEVEL', 'info'),
    natsUrl: natsServers.join(','),
    natsServers,
    natsCredentials: readNatsCredentials(env, production),
    natsNamespace: namespace,
    natsReplicas: readInt(env, 'NATS_REPLICAS', 1, 1, 5),
    metricsToken: readMetricsToken(env),
  };
}

/**
 * NATS_USER and NATS_PASSWORD, both or neither. Without them a process connects anonymously,
 * which only a development NATS accepts (`npm start` against the shared one); production
 * refuses to start without them, since a NATS that lets anyone in lets anyone publish any
 * service's events (nats/permissions.ts says what each user may publish).
 */
function readNatsCredentials(env: Env, production: boolean): NatsCredential | undefined {
  const user = env.NATS_USER?.trim();
  const password = env.NATS_PASSWORD;
  if (!user && !password) {
    if (production) {
      throw new ConfigError(
        'NATS_USER and NATS_PASSWORD are required in production: every process connects to NATS as its own user',
      );
    }
    return undefined;
  }
  if (!user || !password)
    throw new ConfigError('NATS_USER and NATS_PASSWORD go together: set both or neither');
  return { user, password };
}

/** Settings of a subgraph with a database of its own. */
export interface SubgraphConfig extends CommonConfig {
  /** A PostgreSQL server; the database in it is only used to create this subgraph's own. */
  readonly databaseUrl: string;
  /** This subgraph's own database on that server. */
  readonly databaseName: string;
  /** Opening a connection, or waiting for one from the pool, fails after this (DATABASE_CONNECT_TIMEOUT_MS). */
  readonly databaseConnectTimeoutMs: number;
  /** How long a start waits for another instance's migrations (DATABASE_MIGRATION_WAIT_MS). */
  readonly databaseMigrationWaitMs: number;
  /** How long a migration statement may wait for a table lock (DATABASE_MIGRATION_LOCK_TIMEOUT_MS). */
  readonly databaseMigrationLockTimeoutMs: number;
  /** Most connections this process opens to its database (DATABASE_POOL_SIZE); unset: the subgraph's own default. */
  readonly databasePoolSize: number | undefined;
  readonly jwksUrl: string;
  /** Verifies the service tokens of callers; undefined: direct calls are not checked (development only). */
  readonly serviceSecret: string | undefined;
}

/** DATABASE_CONNECT_TIMEOUT_MS when unset. */
export const DEFAULT_DATABASE_CONNECT_TIMEOUT_MS = 5000;
/** DATABASE_MIGRATION_WAIT_MS when unset. */
export const DEFAULT_DATABASE_MIGRATION_WAIT_MS = 300_000;
/** DATABASE_MIGRATION_LOCK_TIMEOUT_MS when unset. */
export const DEFAULT_DATABASE_MIGRATION_LOCK_TIMEOUT_MS = 10_000;

/** Where a service's own database is (DATABASE_URL, DATABASE_PREFIX): also for operator scripts. */
export function readDatabaseConfig(
  service: string,
  env: Env = process.env,
): {
  readonly databaseUrl: string;
  readonly databaseName: string;
  readonly databaseConnectTimeoutMs: number;
  readonly databaseMigrationWaitMs: number;
  readonly databaseMigrationLockTimeoutMs: number;
  readonly databasePoolSize: number | undefined;
} {
  const prefix = readString(env, 'DATABASE_PREFIX', 'supergraph');
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) {
    throw new ConfigError('DATABASE_PREFIX may hold only lower-case letters, digits and "_"');
  }
  const databaseUrl = readUrl(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres', [
    'postgres:',
    'postgresql:',
  ]);
  return {
    databaseUrl,
    databaseName: `${prefix}_${service}`,
    databaseConnectTimeoutMs: readConnectTimeout(env, databaseUrl),
    // Instances starting together wait for the one migrating; this long, then the start fails
    // naming the session that holds the lock (one left behind by a stuck instance, say).
    databaseMigrationWaitMs: readInt(
      env,
      'DATABASE_MIGRATION_WAIT_MS',
      DEFAULT_DATABASE_MIGRATION_WAIT_MS,
      1000,
      3_600_000,
    ),
    // A migration statement waiting for a table lock holds every other statement on that table
    // behind it: it gives up after this, failing the start, rather than stall a running system.
    databaseMigrationLockTimeoutMs: readInt(
      env,
      'DATABASE_MIGRATION_LOCK_TIMEOUT_MS',
      DEFAULT_DATABASE_MIGRATION_LOCK_TIMEOUT_MS,
      100,
      600_000,
    ),
    // Every instance opens up to this many: instances × pool sizes of all subgraphs on one
    // server must stay under its max_connections (100 by default), which two of everything
    // with the defaults already exceeds.
    databasePoolSize: env.DATABASE_POOL_SIZE?.trim()
      ? readInt(env, 'DATABASE_POOL_SIZE', 10, 1, 1000)
      : undefined,
  };
}

/**
 * How long opening a connection (or waiting for a free one in the pool) may take before the
 * database counts as unavailable: a client then gets SERVICE_UNAVAILABLE at once rather than
 * after the operating system's connect timeout, and a start against a PostgreSQL that never
 * answers fails instead of hanging. DATABASE_CONNECT_TIMEOUT_MS; else DATABASE_URL's libpq
 * `connect_timeout` (seconds); else the default. libpq's 0, wait without limit, is refused.
 */
function readConnectTimeout(env: Env, databaseUrl: string): number {
  if (env.DATABASE_CONNECT_TIMEOUT_MS?.trim()) {
    return readInt(env, 'DATABASE_CONNECT_TIMEOUT_MS', DEFAULT_DATABASE_CONNECT_TIMEOUT_MS, 100, 120_000);
  }
  const seconds = new URL(databaseUrl).searchParams.get('connect_timeout');
  if (seconds === null) return DEFAULT_DATABASE_CONNECT_TIMEOUT_MS;
  const value = Number(seconds.trim());
  if (!seconds.trim() || !Number.isInteger(value) || value < 1 || value > 120) {
    throw new ConfigError(
      `DATABASE_URL's connect_timeout must be a whole number of seconds from 1 to 120, got "${seconds}"`,
    );
  }
  return value * 1000;
}

export function readSubgraphConfig(
  service: string,
  defaultPort: number,
  env: Env = process.env,
): SubgraphConfig {
  return {
    ...readCommonConfig(service, defaultPort, env),
    ...readDatabaseConfig(service, env),
    jwksUrl: readUrl(env, 'USERS_JWKS_URL', 'http://127.0.0.1:4001/.well-known/jwks.json', [
      'http:',
      'https:',
    ]),
    serviceSecret: readServiceSecret(env, env.NODE_ENV === 'production'),
  };
}

/**
 * SERVICE_SECRET, the secret every process of the system shares to sign and verify service
 * tokens (shared/auth/service-identity.ts). Production refuses to start without one, or with
 * one that is short or obviously not random; elsewhere it is optional (`npm start` and the test
 * systems generate one per run).
 */
export function readServiceSecret(env: Env, production: boolean): string | undefined {
  const secret = env.SERVICE_SECRET?.trim();
  if (!secret) {
    if (production) throw new ConfigError('SERVICE_SECRET is required in production');
    return undefined;
  }
  const weakness = weakSecretReason(secret);
  if (weakness) throw new ConfigError(`SERVICE_SECRET is not acceptable: ${weakness}`);
  return secret;
}
