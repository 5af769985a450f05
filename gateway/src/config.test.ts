import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../shared/config.ts';
import { SUBGRAPH_URL_ENV } from '../../scripts/lib/services.ts';
import {
  DEFAULT_SUPERGRAPH_PATH,
  REPO_ROOT,
  SUBGRAPH_URL_VARIABLES,
  readGatewayConfig,
  subgraphCallSettings,
} from './config.ts';

describe('readGatewayConfig', () => {
  it('has working development defaults', () => {
    const config = readGatewayConfig({});
    expect(config.port).toBe(4000);
    expect(config.supergraphPath).toBe(DEFAULT_SUPERGRAPH_PATH);
    expect(config.subgraphUrls).toEqual({});
    expect(config.jwksUrl).toBe('http://127.0.0.1:4001/.well-known/jwks.json');
    expect(config.corsOrigins).toContain('https://studio.apollographql.com');
    expect(config.introspection).toBe(true);
    expect(config.queryLimits).toEqual({
      maxDepth: 12,
      maxAliases: 30,
      maxCost: 5000,
      maxQueryBytes: 20_000,
      defaultListSize: 20,
      maxTokens: 5000,
      maxDirectives: 50,
      maxNesting: 64,
      maxFieldRepeats: 20,
    });
    expect(config.rateLimit).toEqual({ enabled: true, burst: 100, perSecond: 10, maxClients: 100_000 });
  });

  it('reads every setting', () => {
    const config = readGatewayConfig({
      PORT: '0',
      SUPERGRAPH_PATH: 'tmp/super.graphql',
      USERS_URL: 'http://users:4001/graphql',
      PAYMENTS_URL: 'https://payments.internal/graphql',
      ORDERS_URL: 'http://orders-a:4004/graphql, http://orders-b:4004/graphql',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:3000',
      INTROSPECTION: 'false',
      MAX_QUERY_DEPTH: '5',
      MAX_QUERY_ALIASES: '2',
      MAX_QUERY_COST: '100',
      MAX_QUERY_BYTES: '1000',
      DEFAULT_LIST_SIZE: '7',
      MAX_QUERY_TOKENS: '400',
      MAX_QUERY_DIRECTIVES: '3',
      MAX_QUERY_FIELD_REPEATS: '4',
      RATE_LIMIT_BURST: '3',
      RATE_LIMIT_PER_MINUTE: '30',
      RATE_LIMIT_ENABLED: 'no',
      RATE_LIMIT_MAX_CLIENTS: '500',
      TRUSTED_PROXY_HOPS: '1',
    });
    expect(config.port).toBe(0);
    expect(config.supergraphPath).toBe(path.join(REPO_ROOT, 'tmp/super.graphql'));
    expect(config.subgraphUrls).toEqual({
      users: ['http://users:4001/graphql'],
      payments: ['https://payments.internal/graphql'],
      orders: ['http://orders-a:4004/graphql', 'http://orders-b:4004/graphql'],
    });
    expect(config.corsOrigins).toEqual(
      expect.arrayContaining(['https://app.example.com', 'http://localhost:3000']),
    );
    expect(config.introspection).toBe(false);
    expect(config.queryLimits).toEqual({
      maxDepth: 5,
      maxAliases: 2,
      maxCost: 100,
      maxQueryBytes: 1000,
      defaultListSize: 7,
      maxTokens: 400,
      maxDirectives: 3,
      maxNesting: 64,
      maxFieldRepeats: 4,
    });
    expect(config.rateLimit).toEqual({ enabled: false, burst: 3, perSecond: 0.5, maxClients: 500 });
    expect(config.trustedProxyHops).toBe(1);
  });

  const production = {
    NODE_ENV: 'production',
    METRICS_TOKEN: 'a-metrics-token-long-enough',
    USERS_JWKS_URL: 'http://users:4001/.well-known/jwks.json',
    NATS_USER: 'gateway',
    NATS_PASSWORD: 'secret',
    SERVICE_SECRET: 'k7Qp2vX9mL4sT8wZ1bN6cR3yH5jF0dGa',
  };

  it('sizes the gateway caches from GRAPHQL_CACHE_MIB (30 MiB each by default, as Apollo)', () => {
    expect(readGatewayConfig({}).cacheMiB).toBe(30);
    expect(readGatewayConfig({ GRAPHQL_CACHE_MIB: '4' }).cacheMiB).toBe(4);
    expect(() => readGatewayConfig({ GRAPHQL_CACHE_MIB: '0' })).toThrow(/GRAPHQL_CACHE_MIB/);
  });

  it('listens on every interface by default: it is the public face', () => {
    expect(readGatewayConfig({}).host).toBe('0.0.0.0');
  });

  it('refuses to start in production without a strong SERVICE_SECRET', () => {
    expect(() => readGatewayConfig({ ...production, SERVICE_SECRET: undefined })).toThrow(
      /SERVICE_SECRET is required/,
    );
    expect(() =>
      readGatewayConfig({ ...production, SERVICE_SECRET: 'development-service-secret-0123456789' }),
    ).toThrow(/SERVICE_SECRET is not acceptable/);
  });

  it('turns introspection and Apollo Studio origins off by default in production', () => {
    const config = readGatewayConfig(production);
    expect(config.introspection).toBe(false);
    expect(config.corsOrigins).toEqual([]);
    expect(config.metricsToken).toBe('a-metrics-token-long-enough');
  });

  it('allows Apollo Studio origins only when asked', () => {
    expect(readGatewayConfig({ ...production, CORS_ALLOW_STUDIO: 'true' }).corsOrigins).toContain(
      'https://studio.apollographql.com',
    );
    expect(readGatewayConfig({ CORS_ALLOW_STUDIO: 'false' }).corsOrigins).toEqual([]);
  });

  it.each([
    ['METRICS_TOKEN', /METRICS_TOKEN is required in production/],
    ['USERS_JWKS_URL', /USERS_JWKS_URL is required in production/],
  ])('refuses to start in production without %s', (variable, message) => {
    expect(() => readGatewayConfig({ ...production, [variable]: undefined })).toThrow(message);
  });

  it('refuses a short metrics token in production', () => {
    expect(() => readGatewayConfig({ ...production, METRICS_TOKEN: 'short' })).toThrow(/at least 16/);
  });

  it('reads the live subscription limits', () => {
    const config = readGatewayConfig({
      SUBSCRIPTION_MAX_PER_USER: '4',
      SUBSCRIPTION_MAX_PER_CONNECTION: '2',
      SUBSCRIPTION_CONNECTION_INIT_TIMEOUT_MS: '1000',
      SUBSCRIPTION_ANONYMOUS_IDLE_MS: '2000',
      SUBSCRIPTION_FIRST_STATE_MAX_AGE_MS: '0',
      SUBSCRIPTION_MAX_CONNECTIONS_PER_ADDRESS: '7',
    });
    expect(config.subscriptions).toMatchObject({
      maxPerUser: 4,
      maxPerConnection: 2,
      maxConnectionsPerAddress: 7,
      connectionInitTimeoutMs: 1000,
      anonymousIdleMs: 2000,
      firstStateMaxAgeMs: 0,
    });
    expect(readGatewayConfig({}).subscriptions).toMatchObject({
      maxPerUser: 20,
      maxPerConnection: 20,
      maxConnectionsPerAddress: 1000,
      connectionInitTimeoutMs: 5000,
      anonymousIdleMs: 60_000,
      firstStateMaxAgeMs: 30_000,
    });
  });

  it.each([
    [{ USERS_URL: 'users:4001' }, /USERS_URL/],
    [{ ORDERS_URL: 'ftp://orders/graphql' }, /ORDERS_URL must use http: or https:/],
    [{ ORDERS_URL: 'http://a/graphql,ftp://b/graphql' }, /ORDERS_URL must use http: or https:/],
    [{ ORDERS_URL: 'http://a/graphql,,http://b/graphql' }, /ORDERS_URL is a comma-separated list/],
    [
      { CORS_ORIGINS: 'https://app.example.com/path' },
      /CORS_ORIGINS: "https:\/\/app.example.com\/path" is not an origin/,
    ],
    [{ CORS_ORIGINS: 'nonsense' }, /CORS_ORIGINS/],
    [{ MAX_QUERY_DEPTH: '0' }, /MAX_QUERY_DEPTH must be a whole number from 1/],
    [{ RATE_LIMIT_PER_MINUTE: '1.5' }, /RATE_LIMIT_PER_MINUTE/],
    [{ RATE_LIMIT_ENABLED: 'maybe' }, /RATE_LIMIT_ENABLED must be true or false/],
    [{ USERS_JWKS_URL: 'not a url' }, /USERS_JWKS_URL is not a URL/],
    [{ BREAKER_FAILURE_THRESHOLD: '0' }, /BREAKER_FAILURE_THRESHOLD must be a whole number from 1/],
    [
      { SUBGRAPH_TIMEOUT_MS_INVENTORY: '10' },
      /SUBGRAPH_TIMEOUT_MS_INVENTORY must be a whole number from 100/,
    ],
  ])('refuses %j with a clear message', (env, message) => {
    expect(() => readGatewayConfig(env)).toThrow(ConfigError);
    expect(() => readGatewayConfig(env)).toThrow(message);
  });

  it('reads subgraph timeouts and breaker settings, each subgraph’s own over the defaults', () => {
    const defaults = readGatewayConfig({}).subgraphs;
    expect(defaults).toMatchObject({
      timeoutMs: 30_000,
      breaker: { failureThreshold: 5, windowMs: 10_000, cooldownMs: 5_000 },
    });
    expect(subgraphCallSettings(defaults, 'payments')).toEqual({
      timeoutMs: 30_000,
      breaker: { failureThreshold: 5, windowMs: 10_000, cooldownMs: 5_000 },
    });
    const config = readGatewayConfig({
      SUBGRAPH_TIMEOUT_MS: '2000',
      BREAKER_FAILURE_THRESHOLD: '3',
      BREAKER_WINDOW_MS: '20000',
      BREAKER_COOLDOWN_MS: '1000',
      SUBGRAPH_TIMEOUT_MS_PAYMENTS: '8000',
      BREAKER_COOLDOWN_MS_PAYMENTS: '30000',
    }).subgraphs;
    expect(subgraphCallSettings(config, 'payments')).toEqual({
      timeoutMs: 8000,
      breaker: { failureThreshold: 3, windowMs: 20_000, cooldownMs: 30_000 },
    });
    expect(subgraphCallSettings(config, 'users')).toEqual({
      timeoutMs: 2000,
      breaker: { failureThreshold: 3, windowMs: 20_000, cooldownMs: 1000 },
    });
    // A subgraph the configuration does not know gets the defaults.
    expect(subgraphCallSettings(config, 'reviews').timeoutMs).toBe(2000);
  });

  it('shares identical in-flight subgraph fetches unless SUBGRAPH_DEDUP is false', () => {
    expect(readGatewayConfig({}).subgraphs.dedup).toBe(true);
    expect(readGatewayConfig({ SUBGRAPH_DEDUP: 'false' }).subgraphs.dedup).toBe(false);
    expect(readGatewayConfig({ SUBGRAPH_DEDUP: 'on' }).subgraphs.dedup).toBe(true);
    expect(() => readGatewayConfig({ SUBGRAPH_DEDUP: 'sometimes' })).toThrow(
      'SUBGRAPH_DEDUP must be true or false',
    );
  });

  it('names the same URL variables as the launcher', () => {
    expect(SUBGRAPH_URL_VARIABLES).toEqual(SUBGRAPH_URL_ENV);
  });
});
