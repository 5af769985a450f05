import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../shared/config.ts';
import { SUBGRAPH_URL_ENV } from '../../scripts/lib/services.ts';
import { DEFAULT_SUPERGRAPH_PATH, REPO_ROOT, SUBGRAPH_URL_VARIABLES, readGatewayConfig } from './config.ts';

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
    });
    expect(config.rateLimit).toEqual({ enabled: true, burst: 100, perSecond: 10 });
  });

  it('reads every setting', () => {
    const config = readGatewayConfig({
      PORT: '0',
      SUPERGRAPH_PATH: 'tmp/super.graphql',
      USERS_URL: 'http://users:4001/graphql',
      PAYMENTS_URL: 'https://payments.internal/graphql',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:3000',
      INTROSPECTION: 'false',
      MAX_QUERY_DEPTH: '5',
      MAX_QUERY_ALIASES: '2',
      MAX_QUERY_COST: '100',
      MAX_QUERY_BYTES: '1000',
      DEFAULT_LIST_SIZE: '7',
      MAX_QUERY_TOKENS: '400',
      MAX_QUERY_DIRECTIVES: '3',
      RATE_LIMIT_BURST: '3',
      RATE_LIMIT_PER_MINUTE: '30',
      RATE_LIMIT_ENABLED: 'no',
      TRUSTED_PROXY_HOPS: '1',
    });
    expect(config.port).toBe(0);
    expect(config.supergraphPath).toBe(path.join(REPO_ROOT, 'tmp/super.graphql'));
    expect(config.subgraphUrls).toEqual({
      users: 'http://users:4001/graphql',
      payments: 'https://payments.internal/graphql',
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
    });
    expect(config.rateLimit).toEqual({ enabled: false, burst: 3, perSecond: 0.5 });
    expect(config.trustedProxyHops).toBe(1);
  });

  const production = { NODE_ENV: 'production', NATS_USER: 'gateway', NATS_PASSWORD: 'secret' };

  it('turns introspection off by default in production', () => {
    expect(
      readGatewayConfig({ ...production, SERVICE_SECRET: 'k7Qp2vX9mL4sT8wZ1bN6cR3yH5jF0dGa' }).introspection,
    ).toBe(false);
  });

  it('listens on every interface by default: it is the public face', () => {
    expect(readGatewayConfig({}).host).toBe('0.0.0.0');
  });

  it('refuses to start in production without a strong SERVICE_SECRET', () => {
    expect(() => readGatewayConfig(production)).toThrow(/SERVICE_SECRET is required/);
    expect(() =>
      readGatewayConfig({ ...production, SERVICE_SECRET: 'development-service-secret-0123456789' }),
    ).toThrow(/SERVICE_SECRET is not acceptable/);
  });

  it.each([
    [{ USERS_URL: 'users:4001' }, /USERS_URL/],
    [{ ORDERS_URL: 'ftp://orders/graphql' }, /ORDERS_URL must use http: or https:/],
    [
      { CORS_ORIGINS: 'https://app.example.com/path' },
      /CORS_ORIGINS: "https:\/\/app.example.com\/path" is not an origin/,
    ],
    [{ CORS_ORIGINS: 'nonsense' }, /CORS_ORIGINS/],
    [{ MAX_QUERY_DEPTH: '0' }, /MAX_QUERY_DEPTH must be a whole number from 1/],
    [{ RATE_LIMIT_PER_MINUTE: '1.5' }, /RATE_LIMIT_PER_MINUTE/],
    [{ RATE_LIMIT_ENABLED: 'maybe' }, /RATE_LIMIT_ENABLED must be true or false/],
    [{ USERS_JWKS_URL: 'not a url' }, /USERS_JWKS_URL is not a URL/],
  ])('refuses %j with a clear message', (env, message) => {
    expect(() => readGatewayConfig(env)).toThrow(ConfigError);
    expect(() => readGatewayConfig(env)).toThrow(message);
  });

  it('names the same URL variables as the launcher', () => {
    expect(SUBGRAPH_URL_VARIABLES).toEqual(SUBGRAPH_URL_ENV);
  });
});
