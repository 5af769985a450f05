import { describe, expect, it } from '@jest/globals';
import { ConfigError, readCommonConfig } from './config.ts';

describe('NATS_URL', () => {
  it('is one server by default', () => {
    const config = readCommonConfig('orders', 4004, {});
    expect(config.natsServers).toEqual(['nats://127.0.0.1:4222']);
    expect(config.natsUrl).toBe('nats://127.0.0.1:4222');
  });

  it("names a cluster's nodes comma-separated, each checked, duplicates once", () => {
    const config = readCommonConfig('orders', 4004, {
      NATS_URL: 'nats://10.0.0.1:4222, nats://10.0.0.2:4222,tls://10.0.0.3:4222,nats://10.0.0.1:4222',
    });
    expect(config.natsServers).toEqual([
      'nats://10.0.0.1:4222',
      'nats://10.0.0.2:4222',
      'tls://10.0.0.3:4222',
    ]);
    expect(config.natsUrl).toBe('nats://10.0.0.1:4222,nats://10.0.0.2:4222,tls://10.0.0.3:4222');
  });

  it.each([
    ['nats://a:4222,http://b:4222', /NATS_URL must use nats: or tls: or ws: or wss:, got "http:"/],
    ['nats://a:4222,', /NATS_URL is a comma-separated list of URLs with no empty item/],
    ['nats://a:4222,b c', /NATS_URL is not a URL: "b c"/],
  ])('refuses %s', (url, message) => {
    expect(() => readCommonConfig('orders', 4004, { NATS_URL: url })).toThrow(message);
  });
});

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
