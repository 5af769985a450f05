// Configuration read from the environment, validated once at start-up. Every value has a
// development default so `npm start` needs no set-up; production refuses the unsafe ones.

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

/** Settings every process shares. */
export interface CommonConfig {
  readonly service: string;
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  readonly natsUrl: string;
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

export function readCommonConfig(service: string, defaultPort: number, env: Env = process.env): CommonConfig {
  const namespace = readString(env, 'NATS_NAMESPACE', '');
  if (namespace && !/^[A-Za-z0-9_-]+$/.test(namespace)) {
    throw new ConfigError('NATS_NAMESPACE may hold only letters, digits, "_" and "-"');
  }
  return {
    service,
    production: env.NODE_ENV === 'production',
    port: readInt(env, 'PORT', defaultPort, 0, 65535),
    host: readString(env, 'HOST', '0.0.0.0'),
    logLevel: readString(env, 'LOG_LEVEL', 'info'),
    natsUrl: readUrl(env, 'NATS_URL', 'nats://127.0.0.1:4222', ['nats:', 'tls:', 'ws:', 'wss:']),
    natsNamespace: namespace,
    natsReplicas: readInt(env, 'NATS_REPLICAS', 1, 1, 5),
    metricsToken: readMetricsToken(env),
  };
}

/** Settings of a subgraph with a database of its own. */
export interface SubgraphConfig extends CommonConfig {
  /** A PostgreSQL server; the database in it is only used to create this subgraph's own. */
  readonly databaseUrl: string;
  /** This subgraph's own database on that server. */
  readonly databaseName: string;
  readonly jwksUrl: string;
}

export function readSubgraphConfig(
  service: string,
  defaultPort: number,
  env: Env = process.env,
): SubgraphConfig {
  const prefix = readString(env, 'DATABASE_PREFIX', 'supergraph');
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) {
    throw new ConfigError('DATABASE_PREFIX may hold only lower-case letters, digits and "_"');
  }
  return {
    ...readCommonConfig(service, defaultPort, env),
    databaseUrl: readUrl(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres', [
      'postgres:',
      'postgresql:',
    ]),
    databaseName: `${prefix}_${service}`,
    jwksUrl: readUrl(env, 'USERS_JWKS_URL', 'http://127.0.0.1:4001/.well-known/jwks.json', [
      'http:',
      'https:',
    ]),
  };
}
