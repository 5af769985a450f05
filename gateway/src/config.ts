// The gateway's configuration, read from the environment and validated once at start-up.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  readBoolean,
  readCommonConfig,
  readInt,
  readServiceSecret,
  readString,
  readUrl,
  readUrls,
  type CommonConfig,
} from '../../shared/config.ts';
import type { LoginThrottleOptions } from './limits/login-throttle.ts';
import type { LimitsStoreConfig } from './limits/limits-store.ts';
import { readQueryLimits } from '../../shared/graphql/limits/config.ts';
import type { QueryLimits } from './limits/query-limits.ts';
import type { RateLimitOptions } from './limits/rate-limit.ts';
import type { SubscriptionSettings } from './subscriptions/index.ts';
import type { BreakerSettings } from './subgraphs/breaker.ts';

type Env = Record<string, string | undefined>;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_SUPERGRAPH_PATH = path.join(REPO_ROOT, 'gateway', 'supergraph.graphql');

/**
 * The variable that overrides each subgraph's URL from the supergraph file, by subgraph name.
 * Several instances: their URLs comma-separated (ORDERS_URL=http://a:4004/graphql,http://b:4004/graphql);
 * the gateway spreads calls over them (subgraphs/instances.ts).
 */
export const SUBGRAPH_URL_VARIABLES = {
  users: 'USERS_URL',
  products: 'PRODUCTS_URL',
  inventory: 'INVENTORY_URL',
  orders: 'ORDERS_URL',
  payments: 'PAYMENTS_URL',
  notifications: 'NOTIFICATIONS_URL',
} as const;

/** Apollo's hosted Sandbox and Explorer: allowed by CORS when CORS_ALLOW_STUDIO (default: not in production). */
export const APOLLO_STUDIO_ORIGINS = [
  'https://studio.apollographql.com',
  'https://sandbox.embed.apollographql.com',
  'https://explorer.embed.apollographql.com',
] as const;

export interface GatewayConfig extends CommonConfig {
  /** An absolute path to the supergraph SDL file. */
  readonly supergraphPath: string;
  /** Subgraph name → the URLs of its instances, replacing the URL in the supergraph file. */
  readonly subgraphUrls: Readonly<Record<string, readonly string[]>>;
  readonly jwksUrl: string;
  /** Signs the gateway's service tokens to the subgraphs (required in production). */
  readonly serviceSecret: string | undefined;
  /** Browser origins allowed by CORS (CORS_ORIGINS, plus Apollo Studio's when CORS_ALLOW_STUDIO). */
  readonly corsOrigins: readonly string[];
  /** Introspection and the Sandbox landing page (default: on, except in production). */
  readonly introspection: boolean;
  /** How many X-Forwarded-For hops to trust for the client address (0: the socket's address). */
  readonly trustedProxyHops: number;
  readonly queryLimits: QueryLimits;
  /**
   * The size of each of the gateway's three caches (parsed documents, automatic persisted
   * queries, query plans), in MiB as Apollo measures them (serialized size).
   */
  readonly cacheMiB: number;
  readonly rateLimit: RateLimitOptions;
  /** Failed logins and registrations per account and address (see readLoginThrottle). */
  readonly loginThrottle: LoginThrottleOptions;
  /** Where the rate limit and the login throttle keep their state (see readLimitsStore). */
  readonly limitsStore: LimitsStoreConfig;
  readonly subgraphs: SubgraphsConfig;
  /** Live subscriptions (graphql-ws and SSE). */
  readonly subscriptions: SubscriptionSettings;
}

/** How the gateway calls one subgraph. */
export interface SubgraphCallSettings {
  /** Time the subgraph has to answer one request. */
  readonly timeoutMs: number;
  /** Its circuit breaker. */
  readonly breaker: BreakerSettings;
}

export interface SubgraphsConfig extends SubgraphCallSettings {
  /** Keep-alive connections per subgraph. */
  readonly connections: number;
  /**
   * Identical fetches of client queries in flight at the same time share one subgraph call
   * (SUBGRAPH_DEDUP, default on; see subgraphs/shared-fetch.ts).
   */
  readonly dedup: boolean;
  /** Settings of each known subgraph (the defaults above, with its own variables over them). */
  readonly bySubgraph: Readonly<Record<string, SubgraphCallSettings>>;
}

/** The settings of the subgraph `name`: its own, else the defaults. */
export function subgraphCallSettings(config: SubgraphsConfig, name: string): SubgraphCallSettings {
  return config.bySubgraph[name] ?? config;
}

export function readGatewayConfig(env: Env = process.env): GatewayConfig {
  // The gateway is the public face: it listens on every interface unless HOST says otherwise.
  const common = readCommonConfig('gateway', 4000, env, '0.0.0.0');
  const rawPath = readString(env, 'SUPERGRAPH_PATH', DEFAULT_SUPERGRAPH_PATH);
  const subgraphUrls: Record<string, readonly string[]> = {};
  for (const [name, variable] of Object.entries(SUBGRAPH_URL_VARIABLES)) {
    if (env[variable]?.trim()) subgraphUrls[name] = readUrls(env, variable, '', ['http:', 'https:']);
  }
  const rateLimitPerMinute = readInt(env, 'RATE_LIMIT_PER_MINUTE', 600, 1);
  // Production runs on no development default that points at this machine or opens a door.
  if (common.production && !env.USERS_JWKS_URL?.trim()) {
    throw new ConfigError(
      'USERS_JWKS_URL is required in production (the default is a local development URL)',
    );
  }
  const allowStudio = readBoolean(env, 'CORS_ALLOW_STUDIO', !common.production);
  return {
    ...common,
    supergraphPath: path.resolve(REPO_ROOT, rawPath),
    subgraphUrls,
    jwksUrl: readUrl(env, 'USERS_JWKS_URL', 'http://127.0.0.1:4001/.well-known/jwks.json', [
      'http:',
      'https:',
    ]),
    serviceSecret: readServiceSecret(env, common.production),
    corsOrigins: [
      ...new Set([...(allowStudio ? APOLLO_STUDIO_ORIGINS : []), ...readOrigins(env, 'CORS_ORIGINS')]),
    ],
    introspection: readBoolean(env, 'INTROSPECTION', !common.production),
    trustedProxyHops: readInt(env, 'TRUSTED_PROXY_HOPS', 0, 0, 10),
    queryLimits: readQueryLimits(env),
    cacheMiB: readInt(env, 'GRAPHQL_CACHE_MIB', 30, 1, 1024),
    rateLimit: {
      enabled: readBoolean(env, 'RATE_LIMIT_ENABLED', true),
      burst: readInt(env, 'RATE_LIMIT_BURST', 100, 1),
      perSecond: rateLimitPerMinute / 60,
      maxClients: readInt(env, 'RATE_LIMIT_MAX_CLIENTS', 100_000, 100, 10_000_000),
    },
    loginThrottle: readLoginThrottle(env),
    limitsStore: readLimitsStore(env),
    subgraphs: readSubgraphs(env),
    subscriptions: {
      maxQueuedEvents: readInt(env, 'SUBSCRIPTION_MAX_QUEUED_EVENTS', 100, 1, 100_000),
      maxBufferedBytes: readInt(env, 'SUBSCRIPTION_MAX_BUFFERED_BYTES', 1024 * 1024, 1024),
      keepAliveMs: readInt(env, 'SUBSCRIPTION_KEEPALIVE_MS', 12_000, 1000, 600_000),
      connectionInitTimeoutMs: readInt(env, 'SUBSCRIPTION_CONNECTION_INIT_TIMEOUT_MS', 5_000, 100, 600_000),
      anonymousIdleMs: readInt(env, 'SUBSCRIPTION_ANONYMOUS_IDLE_MS', 60_000, 100, 3_600_000),
      maxPerUser: readInt(env, 'SUBSCRIPTION_MAX_PER_USER', 20, 1, 100_000),
      maxPerConnection: readInt(env, 'SUBSCRIPTION_MAX_PER_CONNECTION', 20, 1, 100_000),
      maxConnectionsPerAddress: readInt(env, 'SUBSCRIPTION_MAX_CONNECTIONS_PER_ADDRESS', 1000, 1, 1_000_000),
      firstStateMaxAgeMs: readInt(env, 'SUBSCRIPTION_FIRST_STATE_MAX_AGE_MS', 30_000, 0, 60_000),
    },
  };
}

/** A comma-separated list of origins (`https://app.example.com`), each checked. */
function readOrigins(env: Env, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      let url: URL;
      try {
        url = new URL(item);
      } catch {
        throw new ConfigError(`${name}: "${item}" is not an origin such as https://app.example.com`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item.replace(/\/$/, '')) {
        throw new ConfigError(
          `${name}: "${item}" is not an origin (scheme, host and port only, e.g. https://app.example.com)`,
        );
      }
      return url.origin;
    });
}

/**
 * The login throttle: LOGIN_THROTTLE_FREE_ATTEMPTS failed logins per account from one address
 * (LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS per address across accounts), then a delay from
 * LOGIN_THROTTLE_BASE_DELAY_SECONDS doubling up to LOGIN_THROTTLE_MAX_DELAY_SECONDS; failures
 * are forgotten LOGIN_THROTTLE_FORGET_SECONDS after the last one. Registrations: a bucket of
 * LOGIN_THROTTLE_REGISTER_BURST per address, refilled at LOGIN_THROTTLE_REGISTER_PER_MINUTE.
 */
function readLoginThrottle(env: Env): LoginThrottleOptions {
  const baseDelaySeconds = readInt(env, 'LOGIN_THROTTLE_BASE_DELAY_SECONDS', 1, 1, 3600);
  const maxDelaySeconds = readInt(env, 'LOGIN_THROTTLE_MAX_DELAY_SECONDS', 900, baseDelaySeconds, 86_400);
  // Forgetting before the longest lock ends would hand out the free failures again.
  const forgetSeconds = readInt(env, 'LOGIN_THROTTLE_FORGET_SECONDS', 3600, maxDelaySeconds, 7 * 86_400);
  const backOff = (freeFailures: number) => ({
    freeFailures,
    baseDelayMs: baseDelaySeconds * 1000,
    maxDelayMs: maxDelaySeconds * 1000,
    forgetAfterMs: forgetSeconds * 1000,
  });
  return {
    enabled: readBoolean(env, 'LOGIN_THROTTLE_ENABLED', true),
    account: backOff(readInt(env, 'LOGIN_THROTTLE_FREE_ATTEMPTS', 5, 1, 1_000_000)),
    address: backOff(readInt(env, 'LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS', 20, 1, 1_000_000_000)),
    register: {
      burst: readInt(env, 'LOGIN_THROTTLE_REGISTER_BURST', 100, 1, 1_000_000_000),
      perSecond: readInt(env, 'LOGIN_THROTTLE_REGISTER_PER_MINUTE', 20, 1, 1_000_000_000) / 60,
    },
    maxKeys: readInt(env, 'LOGIN_THROTTLE_MAX_KEYS', 100_000, 100, 10_000_000),
  };
}

/**
 * REDIS_URL (redis:// or rediss://, optional): the rate limit's buckets and the login
 * throttle's states live there, shared by every gateway instance that names the same Redis;
 * unset, each instance keeps its own in memory. REDIS_KEY_PREFIX starts every key, so several
 * deployments (or test runs) can share one Redis.
 */
function readLimitsStore(env: Env): LimitsStoreConfig {
  const redisUrl = env.REDIS_URL?.trim() ? readUrl(env, 'REDIS_URL', '', ['redis:', 'rediss:']) : undefined;
  const keyPrefix = readString(env, 'REDIS_KEY_PREFIX', 'gateway:');
  if (!/^[\w:.-]{1,64}$/.test(keyPrefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX: 1 to 64 letters, digits, "_", ":", "." or "-"');
  }
  return { redisUrl, keyPrefix };
}

const SUBGRAPH_CALL_DEFAULTS: SubgraphCallSettings = {
  timeoutMs: 30_000,
  breaker: { failureThreshold: 5, windowMs: 10_000, cooldownMs: 5_000 },
};

/**
 * Subgraph calls: SUBGRAPH_TIMEOUT_MS and the breaker's BREAKER_FAILURE_THRESHOLD (failures
 * within BREAKER_WINDOW_MS that open it) and BREAKER_COOLDOWN_MS (how long it stays open before
 * a probe) apply to every subgraph; the same name with `_<SUBGRAPH>` appended
 * (SUBGRAPH_TIMEOUT_MS_INVENTORY, BREAKER_COOLDOWN_MS_PAYMENTS) overrides one. A variable per
 * setting rather than one JSON value: each is read and checked like any other, and a deployment
 * sets only the one it changes.
 */
function readSubgraphs(env: Env): SubgraphsConfig {
  const defaults = readCallSettings(env, '', SUBGRAPH_CALL_DEFAULTS);
  const bySubgraph = Object.fromEntries(
    Object.keys(SUBGRAPH_URL_VARIABLES).map((name) => [
      name,
      readCallSettings(env, `_${name.toUpperCase()}`, defaults),
    ]),
  );
  return {
    connections: readInt(env, 'SUBGRAPH_CONNECTIONS', 64, 1, 10_000),
    dedup: readBoolean(env, 'SUBGRAPH_DEDUP', true),
    ...defaults,
    bySubgraph,
  };
}

function readCallSettings(env: Env, suffix: string, base: SubgraphCallSettings): SubgraphCallSettings {
  const read = (name: string, fallback: number, min: number, max: number) =>
    readInt(env, `${name}${suffix}`, fallback, min, max);
  return {
    timeoutMs: read('SUBGRAPH_TIMEOUT_MS', base.timeoutMs, 100, 600_000),
    breaker: {
      failureThreshold: read('BREAKER_FAILURE_THRESHOLD', base.breaker.failureThreshold, 1, 1_000_000),
      windowMs: read('BREAKER_WINDOW_MS', base.breaker.windowMs, 100, 3_600_000),
      cooldownMs: read('BREAKER_COOLDOWN_MS', base.breaker.cooldownMs, 10, 3_600_000),
    },
  };
}
