import { describe, expect, it } from '@jest/globals';
import {
  beginAttempt,
  delayAfter,
  endAttempt,
  IN_FLIGHT_TIMEOUT_MS,
  takeRegistration,
  type BackOffOptions,
  type ThrottleState,
} from './login-throttle-policy.ts';

const OPTIONS: BackOffOptions = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 8000,
  forgetAfterMs: 60_000,
};

/** Runs one attempt to its end, as the plugin does; returns the state and whether it was allowed. */
function attempt(state: ThrottleState | undefined, now: number, outcome: 'failed' | 'succeeded') {
  const begun = beginAttempt(state, now, OPTIONS);
  if (!begun.result.allowed) return { state: begun.state, decision: begun.result };
  const ended = endAttempt(begun.state, now, outcome, OPTIONS, true);
  return { state: ended.state, decision: begun.result };
}

describe('delayAfter', () => {
  it('is zero within the free failures, then doubles up to the maximum', () => {
    expect([0, 1, 2].map((n) => delayAfter(n, OPTIONS))).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6, 7, 100, 5000].map((n) => delayAfter(n, OPTIONS))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000, 8000,
    ]);
  });
});

describe('failed attempts', () => {
  it('allows the free failures, then refuses until the growing delay has passed', () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 3; i++) {
      const step = attempt(state, 0, 'failed');
      expect(step.decision).toEqual({ allowed: true });
      state = step.state;
    }
    expect(beginAttempt(state, 0, OPTIONS).result).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(beginAttempt(state, 999, OPTIONS).result).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // The lock has passed: one more failure locks for twice as long.
    state = attempt(state, 1000, 'failed').state;
    expect(beginAttempt(state, 1000, OPTIONS).result).toEqual({ allowed: false, retryAfterSeconds: 2 });
    state = attempt(state, 3000, 'failed').state;
    expect(beginAttempt(state, 3000, OPTIONS).result).toEqual({ allowed: false, retryAfterSeconds: 4 });
  });

  it('does not count successes or abandoned attempts as failures', () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 10; i++) {
      const begun = beginAttempt(state, i, OPTIONS);
      expect(begun.result.allowed).toBe(true);
      state = endAttempt(begun.state, i, i % 2 ? 'succeeded' : 'abandoned', OPTIONS).state;
    }
    expect(state).toBeUndefined();
  });

  it('forgets everything on a success with reset', () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 2; i++) state = attempt(state, 0, 'failed').state;
    expect(attempt(state, 0, 'succeeded').state).toBeUndefined();
  });

  it('forgets failures some time after the last one, never before the lock ends', () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 3; i++) state = attempt(state, 0, 'failed').state;
    expect(state?.expiresAt).toBe(60_000);
    expect(beginAttempt(state, 60_000, OPTIONS).state).toMatchObject({ failures: 0, inFlight: 1 });
    const long = { ...OPTIONS, maxDelayMs: 120_000, baseDelayMs: 120_000 };
    const locked = endAttempt(undefined, 0, 'failed', { ...long, freeFailures: 1 }).state;
    expect(locked).toMatchObject({ lockedUntil: 120_000, expiresAt: 120_000 });
  });

  it('counts attempts in flight, so parallel guesses get no more than sequential ones', () => {
    let state: ThrottleState | undefined;
    const allowed: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const begun = beginAttempt(state, 0, OPTIONS);
      allowed.push(begun.result.allowed);
      state = begun.state;
    }
    expect(allowed).toEqual([true, true, true, false, false, false, false, false, false, false]);
  });

  it('allows one attempt at a time once the free failures are used up', () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 3; i++) state = attempt(state, 0, 'failed').state;
    const first = beginAttempt(state, 1000, OPTIONS);
    expect(first.result.allowed).toBe(true);
    expect(beginAttempt(first.state, 1000, OPTIONS).result).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('stops counting an attempt in flight whose answer never came', () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 3; i++) state = beginAttempt(state, 0, OPTIONS).state;
    expect(beginAttempt(state, 1, OPTIONS).result.allowed).toBe(false);
    expect(beginAttempt(state, IN_FLIGHT_TIMEOUT_MS, OPTIONS).result.allowed).toBe(true);
  });

  it('still counts a failure whose state was forgotten meanwhile', () => {
    expect(endAttempt(undefined, 5, 'failed', OPTIONS).state).toMatchObject({ failures: 1, inFlight: 0 });
  });
});

describe('takeRegistration', () => {
  const BUDGET = { burst: 2, perSecond: 0.5 };

  it('allows a burst, then one per refill interval', () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 2; i++) {
      const step = takeRegistration(state, 0, BUDGET);
      expect(step.result).toEqual({ allowed: true });
      state = step.state;
    }
    expect(takeRegistration(state, 0, BUDGET).result).toEqual({ allowed: false, retryAfterSeconds: 2 });
    expect(takeRegistration(state, 1000, BUDGET).result).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(takeRegistration(state, 2000, BUDGET).result).toEqual({ allowed: true });
  });

  it('may be dropped once the bucket has refilled', () => {
    const step = takeRegistration(undefined, 0, BUDGET);
    expect(step.state?.expiresAt).toBe(2000);
  });
});
