import { describe, expect, it } from '@jest/globals';
import { DEFAULT_MAIL_DIR, readNotificationsConfig } from '../src/config.ts';

const PRODUCTION = {
  NODE_ENV: 'production',
  METRICS_TOKEN: 'a-metrics-token-long-enough',
  NATS_USER: 'notifications',
  NATS_PASSWORD: 'pSecretSecretSecret',
  SERVICE_SECRET: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==',
  USERS_JWKS_URL: 'http://users:4001/.well-known/jwks.json',
};

describe('the notifications configuration', () => {
  it('writes .eml files under .data/mail when no SMTP_URL is given (development)', () => {
    const config = readNotificationsConfig({});
    expect(config.smtpUrl).toBeUndefined();
    expect(config.mailDir).toBe(DEFAULT_MAIL_DIR);
    expect(config.mailDir.endsWith('/.data/mail')).toBe(true);
    expect(config.port).toBe(4006);
  });

  it('takes an SMTP URL and the retry settings', () => {
    const config = readNotificationsConfig({
      SMTP_URL: 'smtp://mailpit:1025',
      MAIL_RETRY_BASE_MS: '250',
      MAIL_MAX_ATTEMPTS: '3',
    });
    expect(config.smtpUrl).toBe('smtp://mailpit:1025');
    expect(config.retry).toMatchObject({ baseDelayMs: 250, maxAttempts: 3 });
  });

  it('lets order events wait 100 ms for others to share a transaction, configurable from 0 to 1 s', () => {
    expect(readNotificationsConfig({}).batchWaitMs).toBe(100);
    expect(readNotificationsConfig({ NOTIFICATIONS_BATCH_WAIT_MS: '0' }).batchWaitMs).toBe(0);
    expect(() => readNotificationsConfig({ NOTIFICATIONS_BATCH_WAIT_MS: '5000' })).toThrow(
      /NOTIFICATIONS_BATCH_WAIT_MS/,
    );
  });

  it('refuses what is not an SMTP URL, and production without one unless files are asked for', () => {
    expect(() => readNotificationsConfig({ SMTP_URL: 'http://mail' })).toThrow(/SMTP_URL must use/);
    expect(() => readNotificationsConfig(PRODUCTION)).toThrow(/SMTP_URL is required in production/);
    expect(readNotificationsConfig({ ...PRODUCTION, MAIL_DIR: '/var/mail/out' }).mailDir).toBe(
      '/var/mail/out',
    );
    expect(readNotificationsConfig({ ...PRODUCTION, SMTP_URL: 'smtps://mail.example.com' }).smtpUrl).toBe(
      'smtps://mail.example.com',
    );
  });
});
