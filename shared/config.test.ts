import { describe, expect, it } from '@jest/globals';
import { readSubgraphConfig } from './config.ts';

describe('readSubgraphConfig', () => {
  it('listens on loopback by default, or on HOST', () => {
    expect(readSubgraphConfig('products', 4002, {}).host).toBe('127.0.0.1');
    expect(readSubgraphConfig('products', 4002, { HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('needs no SERVICE_SECRET outside production, and reads one that is given', () => {
    expect(readSubgraphConfig('products', 4002, {}).serviceSecret).toBeUndefined();
    const secret = 'k7Qp2vX9mL4sT8wZ1bN6cR3yH5jF0dGa';
    expect(readSubgraphConfig('products', 4002, { SERVICE_SECRET: secret }).serviceSecret).toBe(secret);
  });

  it('refuses to start in production without a SERVICE_SECRET, or with a weak one', () => {
    // Everything else production needs, so that the secret is what is missing.
    const production = {
      NODE_ENV: 'production',
      METRICS_TOKEN: 'a-metrics-token-long-enough',
      NATS_USER: 'products',
      NATS_PASSWORD: 'secret',
    };
    expect(() => readSubgraphConfig('products', 4002, production)).toThrow(
      /SERVICE_SECRET is required in production/,
    );
    for (const weak of ['short', 'development-service-secret-0123456789', 'a'.repeat(40)]) {
      expect(() => readSubgraphConfig('products', 4002, { SERVICE_SECRET: weak })).toThrow(
        /SERVICE_SECRET is not acceptable/,
      );
    }
  });

  it("keeps the subgraph's own pool size unless DATABASE_POOL_SIZE says otherwise", () => {
    expect(readSubgraphConfig('orders', 4004, {}).databasePoolSize).toBeUndefined();
    expect(readSubgraphConfig('orders', 4004, { DATABASE_POOL_SIZE: '4' }).databasePoolSize).toBe(4);
    expect(() => readSubgraphConfig('orders', 4004, { DATABASE_POOL_SIZE: '0' })).toThrow(
      /DATABASE_POOL_SIZE must be a whole number from 1/,
    );
  });

  it("gives up connecting to the database after DATABASE_CONNECT_TIMEOUT_MS, else the URL's connect_timeout", () => {
    const timeout = (env: Record<string, string>) =>
      readSubgraphConfig('orders', 4004, env).databaseConnectTimeoutMs;
    expect(timeout({})).toBe(5000);
    expect(timeout({ DATABASE_CONNECT_TIMEOUT_MS: '2500' })).toBe(2500);
    expect(timeout({ DATABASE_URL: 'postgres://db/postgres?connect_timeout=7' })).toBe(7000);
    expect(
      timeout({
        DATABASE_URL: 'postgres://db/postgres?connect_timeout=7',
        DATABASE_CONNECT_TIMEOUT_MS: '900',
      }),
    ).toBe(900);
    expect(() => timeout({ DATABASE_CONNECT_TIMEOUT_MS: '50' })).toThrow(
      /DATABASE_CONNECT_TIMEOUT_MS must be a whole number from 100 to 120000, got "50"/,
    );
    for (const bad of ['0', '-1', '2.5', 'soon', '']) {
      expect(() => timeout({ DATABASE_URL: `postgres://db/postgres?connect_timeout=${bad}` })).toThrow(
        /DATABASE_URL's connect_timeout must be a whole number of seconds from 1 to 120/,
      );
    }
  });

  it("waits 5 min for another instance's migrations and 10 s for a table lock, unless told otherwise", () => {
    const read = (env: Record<string, string>) => {
      const config = readSubgraphConfig('orders', 4004, env);
      return [config.databaseMigrationWaitMs, config.databaseMigrationLockTimeoutMs];
    };
    expect(read({})).toEqual([300_000, 10_000]);
    expect(read({ DATABASE_MIGRATION_WAIT_MS: '60000', DATABASE_MIGRATION_LOCK_TIMEOUT_MS: '2000' })).toEqual(
      [60_000, 2000],
    );
    expect(() => read({ DATABASE_MIGRATION_WAIT_MS: '0' })).toThrow(
      /DATABASE_MIGRATION_WAIT_MS must be a whole number from 1000 to 3600000, got "0"/,
    );
    expect(() => read({ DATABASE_MIGRATION_LOCK_TIMEOUT_MS: 'forever' })).toThrow(
      /DATABASE_MIGRATION_LOCK_TIMEOUT_MS must be a whole number from 100 to 600000/,
    );
  });
});
