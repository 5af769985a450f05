// Where the limits keep their state, as readGatewayConfig reads it.
import { describe, expect, it } from '@jest/globals';
import { readGatewayConfig } from '../config.ts';

describe('REDIS_URL and REDIS_KEY_PREFIX', () => {
  it('keep the limits in memory by default', () => {
    expect(readGatewayConfig({}).limitsStore).toEqual({ redisUrl: undefined, keyPrefix: 'gateway:' });
    expect(readGatewayConfig({ REDIS_URL: '  ' }).limitsStore.redisUrl).toBeUndefined();
  });

  it('take a redis:// or rediss:// URL and a key prefix', () => {
    expect(
      readGatewayConfig({ REDIS_URL: 'rediss://:secret@cache.internal:6380/2', REDIS_KEY_PREFIX: 'shop-eu:' })
        .limitsStore,
    ).toEqual({ redisUrl: 'rediss://:secret@cache.internal:6380/2', keyPrefix: 'shop-eu:' });
  });

  it('refuse anything else', () => {
    expect(() => readGatewayConfig({ REDIS_URL: 'http://cache:6379' })).toThrow(
      /REDIS_URL must use redis: or rediss:/,
    );
    expect(() => readGatewayConfig({ REDIS_URL: 'cache:6379:x' })).toThrow(/REDIS_URL/);
    expect(() => readGatewayConfig({ REDIS_KEY_PREFIX: 'has space' })).toThrow(/REDIS_KEY_PREFIX/);
    expect(() => readGatewayConfig({ REDIS_KEY_PREFIX: 'x'.repeat(65) })).toThrow(/REDIS_KEY_PREFIX/);
  });
});
