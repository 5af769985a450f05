// What to do with a notification after one attempt at sending it: pure, so it is unit-tested.
import type { DeliveryOutcome } from '../domain/notifications.store.ts';

export interface RetryPolicy {
  /** The delay after the first failed attempt; each further one doubles it. */
  readonly baseDelayMs: number;
  /** No delay grows past this. */
  readonly maxDelayMs: number;
  /** After this many attempts a notification that still fails is FAILED. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 10 * 60_000,
  maxAttempts: 10,
};

/** The wait before attempt `attempts + 1`, after `attempts` failed ones: base, 2 × base, 4 × base ... */
export function retryDelayMs(policy: RetryPolicy, attempts: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
}

export type AttemptResult =
  | { readonly kind: 'sent' }
  | { readonly kind: 'transient'; readonly reason: string }
  | { readonly kind: 'permanent'; readonly reason: string };

/** The record after an attempt: SENT, PENDING again later, or FAILED with the reason. */
export function outcomeOf(
  notification: { readonly id: string; readonly attempts: number },
  result: AttemptResult,
  policy: RetryPolicy,
  now: Date,
): DeliveryOutcome {
  const attempts = notification.attempts + 1;
  const base = { id: notification.id, attempts, nextAttemptAt: now, sentAt: null };
  switch (result.kind) {
    case 'sent':
      return { ...base, status: 'SENT', sentAt: now, failureReason: null };
    case 'permanent':
      return { ...base, status: 'FAILED', failureReason: result.reason };
    case 'transient':
      if (attempts >= policy.maxAttempts) {
        return {
          ...base,
          status: 'FAILED',
          failureReason: `gave up after ${attempts} attempts; last: ${result.reason}`,
        };
      }
      return {
        ...base,
        status: 'PENDING',
        nextAttemptAt: new Date(now.getTime() + retryDelayMs(policy, attempts)),
        failureReason: result.reason,
      };
  }
}
