// The login throttle's settings, as readGatewayConfig reads them.
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../../shared/config.ts';
import { readGatewayConfig } from '../config.ts';

describe('login throttle settings', () => {
  it('has defaults that only throttle real guessing', () => {
    expect(readGatewayConfig({}).loginThrottle).toEqual({
      enabled: true,
      account: { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 900_000, forgetAfterMs: 3_600_000 },
      address: { freeFailures: 20, baseDelayMs: 1000, maxDelayMs: 900_000, forgetAfterMs: 3_600_000 },
      register: { burst: 100, perSecond: 20 / 60 },
      maxKeys: 100_000,
    });
  });

  it('reads every setting', () => {
    const config = readGatewayConfig({
      LOGIN_THROTTLE_ENABLED: 'false',
      LOGIN_THROTTLE_FREE_ATTEMPTS: '3',
      LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS: '8',
      LOGIN_THROTTLE_BASE_DELAY_SECONDS: '2',
      LOGIN_THROTTLE_MAX_DELAY_SECONDS: '60',
      LOGIN_THROTTLE_FORGET_SECONDS: '120',
      LOGIN_THROTTLE_REGISTER_BURST: '4',
      LOGIN_THROTTLE_REGISTER_PER_MINUTE: '6',
      LOGIN_THROTTLE_MAX_KEYS: '1000',
    });
    expect(config.loginThrottle).toEqual({
      enabled: false,
      account: { freeFailures: 3, baseDelayMs: 2000, maxDelayMs: 60_000, forgetAfterMs: 120_000 },
      address: { freeFailures: 8, baseDelayMs: 2000, maxDelayMs: 60_000, forgetAfterMs: 120_000 },
      register: { burst: 4, perSecond: 0.1 },
      maxKeys: 1000,
    });
  });

  it('refuses settings that contradict each other or make no sense', () => {
    expect(() => readGatewayConfig({ LOGIN_THROTTLE_FREE_ATTEMPTS: '0' })).toThrow(ConfigError);
    expect(() => readGatewayConfig({ LOGIN_THROTTLE_ENABLED: 'maybe' })).toThrow(ConfigError);
    // A maximum delay below the first one, or failures forgotten while still locked.
    expect(() =>
      readGatewayConfig({ LOGIN_THROTTLE_BASE_DELAY_SECONDS: '10', LOGIN_THROTTLE_MAX_DELAY_SECONDS: '5' }),
    ).toThrow(ConfigError);
    expect(() =>
      readGatewayConfig({ LOGIN_THROTTLE_MAX_DELAY_SECONDS: '600', LOGIN_THROTTLE_FORGET_SECONDS: '300' }),
    ).toThrow(ConfigError);
  });
});
