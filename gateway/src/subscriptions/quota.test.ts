import { describe, expect, it } from '@jest/globals';
import { SubscriptionQuota } from './quota.ts';

describe('SubscriptionQuota', () => {
  it('refuses past the per-connection cap and frees a slot on release', () => {
    const quota = new SubscriptionQuota({ maxPerUser: 10, maxPerConnection: 2 });
    const socket = {};
    const first = quota.acquire('u1', socket);
    expect('release' in first).toBe(true);
    expect('release' in quota.acquire('u1', socket)).toBe(true);
    expect(quota.acquire('u1', socket)).toEqual({ refused: 'connection' });
    // Another connection of the same user is not affected.
    expect('release' in quota.acquire('u1', {})).toBe(true);
    if ('release' in first) first.release();
    expect('release' in quota.acquire('u1', socket)).toBe(true);
  });

  it('counts a user across connections', () => {
    const quota = new SubscriptionQuota({ maxPerUser: 2, maxPerConnection: 5 });
    quota.acquire('u1', {});
    quota.acquire('u1', {});
    expect(quota.acquire('u1', {})).toEqual({ refused: 'user' });
    expect('release' in quota.acquire('u2', {})).toBe(true);
  });

  it('keeps nothing for a refusal, and forgets a user whose slots are all released', () => {
    const quota = new SubscriptionQuota({ maxPerUser: 1, maxPerConnection: 1 });
    const slot = quota.acquire('u1', {});
    for (let i = 0; i < 100; i += 1) quota.acquire('u1', {});
    expect(quota.heldBy('u1')).toBe(1);
    if ('release' in slot) {
      slot.release();
      slot.release();
    }
    expect(quota.heldBy('u1')).toBe(0);
    expect(quota.users).toBe(0);
  });
});
