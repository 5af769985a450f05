// What a login throttle does over any ThrottleStore: run by login-throttle.test.ts over the
// in-memory store and by login-throttle-redis-store.int.test.ts over Redis, so both keep the
// same behaviour. The clock is passed in; each test gets a fresh store.
import { describe, expect, it } from '@jest/globals';
import { createLoginThrottle, type LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import type { ThrottleStore } from './login-throttle-store.ts';

const OPTIONS: LoginThrottleOptions = {
  enabled: true,
  account: { freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 60_000, forgetAfterMs: 3_600_000 },
  address: { freeFailures: 4, baseDelayMs: 1000, maxDelayMs: 60_000, forgetAfterMs: 3_600_000 },
  register: { burst: 2, perSecond: 1 },
  maxKeys: 1000,
};

/**
 * For tests on real time: `freeFailures` per account, then a one-minute lock (nothing unlocks
 * while a test runs); addresses barely limited; 5 registrations per address, hardly refilled.
 */
export function lockingOptions(freeFailures: number): LoginThrottleOptions {
  const minute = { baseDelayMs: 60_000, maxDelayMs: 60_000, forgetAfterMs: 3_600_000 };
  return {
    enabled: true,
    account: { freeFailures, ...minute },
    address: { freeFailures: 1000, ...minute },
    register: { burst: 5, perSecond: 0.001 },
    maxKeys: 1000,
  };
}

/** One login attempt run to its end; returns whether it was allowed. */
export async function login(
  throttle: LoginThrottle,
  email: string,
  address: string,
  outcome: 'failed' | 'succeeded',
) {
  const decision = await throttle.beginLogin(email, address);
  if (decision.allowed) await decision.attempt.end(outcome);
  return decision.allowed;
}

export function describeLoginThrottle(storeName: string, newStore: () => ThrottleStore): void {
  function throttleAt(options: LoginThrottleOptions = OPTIONS) {
    const clock = { now: 0 };
    return { clock, throttle: createLoginThrottle(options, () => clock.now, newStore()) };
  }

  describe(`createLoginThrottle over ${storeName}`, () => {
    it('locks an account at one address, not at another', async () => {
      const { throttle } = throttleAt();
      expect(await login(throttle, 'ada@example.com', '10.0.0.1', 'failed')).toBe(true);
      expect(await login(throttle, 'ada@example.com', '10.0.0.1', 'failed')).toBe(true);
      expect(await throttle.beginLogin('ada@example.com', '10.0.0.1')).toEqual({
        allowed: false,
        retryAfterSeconds: 1,
      });
      // The same account however it is spelt.
      expect((await throttle.beginLogin(' ADA@example.com ', '10.0.0.1')).allowed).toBe(false);
      expect(await login(throttle, 'ada@example.com', '10.0.0.2', 'succeeded')).toBe(true);
    });

    it('locks an address guessing across accounts', async () => {
      const { throttle } = throttleAt();
      for (let i = 0; i < 4; i++)
        expect(await login(throttle, `u${i}@example.com`, '10.0.0.1', 'failed')).toBe(true);
      expect((await throttle.beginLogin('someone-else@example.com', '10.0.0.1')).allowed).toBe(false);
      expect((await throttle.beginLogin('someone-else@example.com', '10.0.0.9')).allowed).toBe(true);
    });

    it('resets the account at the address on success, but not the address', async () => {
      const { throttle } = throttleAt();
      await login(throttle, 'ada@example.com', '10.0.0.1', 'failed');
      await login(throttle, 'bob@example.com', '10.0.0.1', 'failed');
      await login(throttle, 'bob@example.com', '10.0.0.1', 'succeeded');
      await login(throttle, 'bob@example.com', '10.0.0.1', 'failed');
      // bob's account key was reset (1 failure since), the address has 3 failures: one more is free.
      expect(await login(throttle, 'bob@example.com', '10.0.0.1', 'failed')).toBe(true);
      expect((await throttle.beginLogin('carol@example.com', '10.0.0.1')).allowed).toBe(false);
    });

    it('gives back the other key when one refuses', async () => {
      const { throttle } = throttleAt();
      for (let i = 0; i < 2; i++) await login(throttle, 'ada@example.com', '10.0.0.1', 'failed');
      // Refused by the account key many times: the address key must not fill up with attempts in flight.
      for (let i = 0; i < 10; i++)
        expect((await throttle.beginLogin('ada@example.com', '10.0.0.1')).allowed).toBe(false);
      expect(await login(throttle, 'bob@example.com', '10.0.0.1', 'failed')).toBe(true);
    });

    it('lets the lock pass with time', async () => {
      const { clock, throttle } = throttleAt();
      for (let i = 0; i < 2; i++) await login(throttle, 'ada@example.com', '10.0.0.1', 'failed');
      clock.now = 1000;
      expect(await login(throttle, 'ada@example.com', '10.0.0.1', 'failed')).toBe(true);
      clock.now = 2999;
      expect(await throttle.beginLogin('ada@example.com', '10.0.0.1')).toEqual({
        allowed: false,
        retryAfterSeconds: 1,
      });
      clock.now = 3000;
      expect(await login(throttle, 'ada@example.com', '10.0.0.1', 'succeeded')).toBe(true);
    });

    it('budgets registrations per address', async () => {
      const { clock, throttle } = throttleAt();
      expect((await throttle.takeRegistration('10.0.0.1')).allowed).toBe(true);
      expect((await throttle.takeRegistration('10.0.0.1')).allowed).toBe(true);
      expect(await throttle.takeRegistration('10.0.0.1')).toEqual({ allowed: false, retryAfterSeconds: 1 });
      expect((await throttle.takeRegistration('10.0.0.2')).allowed).toBe(true);
      clock.now = 1000;
      expect((await throttle.takeRegistration('10.0.0.1')).allowed).toBe(true);
    });

    it('allows everything when disabled', async () => {
      const { throttle } = throttleAt({ ...OPTIONS, enabled: false });
      for (let i = 0; i < 10; i++)
        expect(await login(throttle, 'ada@example.com', '10.0.0.1', 'failed')).toBe(true);
      for (let i = 0; i < 10; i++) expect((await throttle.takeRegistration('10.0.0.1')).allowed).toBe(true);
    });
  });
}
