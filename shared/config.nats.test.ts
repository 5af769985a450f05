import { describe, expect, it } from '@jest/globals';
import { ConfigError, readCommonConfig } from './config.ts';

describe('NATS credentials in the configuration', () => {
  it('connects anonymously in development when none are given', () => {
    expect(readCommonConfig('orders', 4004, {}).natsCredentials).toBeUndefined();
  });

  it('reads NATS_USER and NATS_PASSWORD', () => {
    const config = readCommonConfig('orders', 4004, { NATS_USER: 'orders', NATS_PASSWORD: 'pw' });
    expect(config.natsCredentials).toEqual({ user: 'orders', password: 'pw' });
  });

  it.each([{ NATS_USER: 'orders' }, { NATS_PASSWORD: 'pw' }])('wants both or neither: %j', (env) => {
    expect(() => readCommonConfig('orders', 4004, env)).toThrow(/NATS_USER and NATS_PASSWORD go together/);
  });

  it('refuses to start in production without them', () => {
    expect(() => readCommonConfig('orders', 4004, { NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => readCommonConfig('orders', 4004, { NODE_ENV: 'production' })).toThrow(
      /NATS_USER and NATS_PASSWORD are required in production/,
    );
  });
});
