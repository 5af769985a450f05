import { describe, expect, it } from '@jest/globals';
import { outcomeOf, retryDelayMs, type RetryPolicy } from '../src/delivery/retry.ts';

const policy: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 4 };
const now = new Date('2026-11-30T10:00:00.000Z');
const later = (ms: number) => new Date(now.getTime() + ms);

describe('retry delays', () => {
  it('double after every failed attempt, up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((attempts) => retryDelayMs(policy, attempts))).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
  });
});

describe('the outcome of an attempt', () => {
  it('is SENT, counting the attempt', () => {
    expect(outcomeOf({ id: 'n', attempts: 0 }, { kind: 'sent' }, policy, now)).toEqual({
      id: 'n',
      status: 'SENT',
      attempts: 1,
      nextAttemptAt: now,
      sentAt: now,
      failureReason: null,
    });
  });

  it('is PENDING again after a growing delay for a transient failure, with its reason', () => {
    const first = outcomeOf({ id: 'n', attempts: 0 }, { kind: 'transient', reason: 'SMTP 451' }, policy, now);
    expect(first).toMatchObject({ status: 'PENDING', attempts: 1, nextAttemptAt: later(1000), sentAt: null });
    expect(first.failureReason).toBe('SMTP 451');
    const third = outcomeOf({ id: 'n', attempts: 2 }, { kind: 'transient', reason: 'x' }, policy, now);
    expect(third).toMatchObject({ status: 'PENDING', attempts: 3, nextAttemptAt: later(4000) });
  });

  it('is FAILED once the attempts are used up', () => {
    const last = outcomeOf({ id: 'n', attempts: 3 }, { kind: 'transient', reason: 'SMTP 451' }, policy, now);
    expect(last).toMatchObject({ status: 'FAILED', attempts: 4, sentAt: null });
    expect(last.failureReason).toBe('gave up after 4 attempts; last: SMTP 451');
  });

  it('is FAILED at once for a permanent refusal', () => {
    expect(
      outcomeOf(
        { id: 'n', attempts: 0 },
        { kind: 'permanent', reason: 'SMTP 550: no such user' },
        policy,
        now,
      ),
    ).toMatchObject({ status: 'FAILED', attempts: 1, failureReason: 'SMTP 550: no such user' });
  });
});
