// The gateway's configuration, read from the environment and validated once at start-up.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  readCommonConfig,
  readInt,
  readString,
  readUrl,
  type CommonConfig,
} from '../../shared/config.ts';
import type { QueryLimits } from './limits/query-limits.ts';
import type { RateLimitOptions } from './limits/rate-limit.ts';
import type { SubscriptionSettings } from './subscriptions/index.ts';

type Env = Record<string, string | undefined>;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_SUPERGRAPH_PATH = path.join(REPO_ROOT, 'gateway', 'supergraph.graphql');

/** The variable that overrides each subgraph's URL from the supergraph file, by subgraph name. */
export const SUBGRAPH_URL_VARIABLES = {
  users: 'USERS_URL',
  products: 'PRODUCTS_URL',
  inventory: 'INVENTORY_URL',
  orders: 'ORDERS_URL',
  payments: 'PAYMENTS_URL',
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
  /** Subgraph name → URL, replacing the URL in the supergraph file. */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  readonly jwksUrl: string;
  /** Browser origins allowed by CORS (CORS_ORIGINS, plus Apollo Studio's when CORS_ALLOW_STUDIO). */
  readonly corsOrigins: readonly string[];
  /** Introspection and the Sandbox landing page (default: on, except in production). */
  readonly introspection: boolean;
  /** How many X-Forwarded-For hops to trust for the client address (0: the socket's address). */
  readonly trustedProxyHops: number;
  readonly queryLimits: QueryLimits;
  readonly rateLimit: RateLimitOptions;
  readonly subgraphs: {
    /** Keep-alive connections per subgraph. */
    readonly connections: number;
    /** Time a subgraph has to answer one request. */
    readonly timeoutMs: number;
  };
  /** Live subscriptions (graphql-ws and SSE). */
  readonly subscriptions: SubscriptionSettings;
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

export function readGatewayConfig(env: Env = process.env): GatewayConfig {
  const common = readCommonConfig('gateway', 4000, env);
  const rawPath = readString(env, 'SUPERGRAPH_PATH', DEFAULT_SUPERGRAPH_PATH);
  const subgraphUrls: Record<string, string> = {};
  for (const [name, variable] of Object.entries(SUBGRAPH_URL_VARIABLES)) {
    if (env[variable]?.trim()) subgraphUrls[name] = readUrl(env, variable, '', ['http:', 'https:']);
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
    corsOrigins: [
      ...new Set([...(allowStudio ? APOLLO_STUDIO_ORIGINS : []), ...readOrigins(env, 'CORS_ORIGINS')]),
    ],
    introspection: readBoolean(env, 'INTROSPECTION', !common.production),
    trustedProxyHops: readInt(env, 'TRUSTED_PROXY_HOPS', 0, 0, 10),
    queryLimits: {
      maxDepth: readInt(env, 'MAX_QUERY_DEPTH', 12, 1, 1000),
      maxAliases: readInt(env, 'MAX_QUERY_ALIASES', 30, 0, 100_000),
      maxCost: readInt(env, 'MAX_QUERY_COST', 5000, 1),
      maxQueryBytes: readInt(env, 'MAX_QUERY_BYTES', 20_000, 100, 1024 * 1024),
      defaultListSize: readInt(env, 'DEFAULT_LIST_SIZE', 20, 1, 10_000),
    },
    rateLimit: {
      enabled: readBoolean(env, 'RATE_LIMIT_ENABLED', true),
      burst: readInt(env, 'RATE_LIMIT_BURST', 100, 1),
      perSecond: rateLimitPerMinute / 60,
      maxClients: readInt(env, 'RATE_LIMIT_MAX_CLIENTS', 100_000, 100, 10_000_000),
    },
    subgraphs: {
      connections: readInt(env, 'SUBGRAPH_CONNECTIONS', 64, 1, 10_000),
      timeoutMs: readInt(env, 'SUBGRAPH_TIMEOUT_MS', 30_000, 100, 600_000),
    },
    subscriptions: {
      maxQueuedEvents: readInt(env, 'SUBSCRIPTION_MAX_QUEUED_EVENTS', 100, 1, 100_000),
      maxBufferedBytes: readInt(env, 'SUBSCRIPTION_MAX_BUFFERED_BYTES', 1024 * 1024, 1024),
      keepAliveMs: readInt(env, 'SUBSCRIPTION_KEEPALIVE_MS', 12_000, 1000, 600_000),
      connectionInitTimeoutMs: readInt(env, 'SUBSCRIPTION_CONNECTION_INIT_TIMEOUT_MS', 5_000, 100, 600_000),
      anonymousIdleMs: readInt(env, 'SUBSCRIPTION_ANONYMOUS_IDLE_MS', 60_000, 100, 3_600_000),
      maxPerUser: readInt(env, 'SUBSCRIPTION_MAX_PER_USER', 20, 1, 100_000),
      maxPerConnection: readInt(env, 'SUBSCRIPTION_MAX_PER_CONNECTION', 20, 1, 100_000),
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
