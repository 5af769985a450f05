import { describe, expect, it } from '@jest/globals';
import { RETIREMENT_LEEWAY_SECONDS, keySchedule } from '../src/domain/signing-keys.ts';

const T0 = Date.parse('2026-11-30T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const TTL = 900;
const statuses = (keys: { kid: string; activatesAt: Date }[], now: number) =>
  Object.fromEntries(keySchedule(keys, at(now), TTL).map((s) => [s.key.kid, s.status]));

describe('keySchedule', () => {
  const keys = [
    { kid: 'old', activatesAt: at(0) },
    { kid: 'new', activatesAt: at(1000) },
  ];

  it('publishes a rotated-in key before it signs', () => {
    expect(statuses(keys, 999)).toEqual({ old: 'signing', new: 'pending' });
  });

  it('signs with the new key from its activation; the old one verifies until its tokens expire', () => {
    expect(statuses(keys, 1000)).toEqual({ old: 'verifying', new: 'signing' });
    const retireAt = 1000 + TTL + RETIREMENT_LEEWAY_SECONDS;
    expect(keySchedule(keys, at(1000), TTL)[0]!.retiresAt).toEqual(at(retireAt));
    expect(statuses(keys, retireAt - 1)).toEqual({ old: 'verifying', new: 'signing' });
    expect(statuses(keys, retireAt)).toEqual({ old: 'retired', new: 'signing' });
  });

  it('retires each key from when its own successor took over', () => {
    const three = [...keys, { kid: 'newest', activatesAt: at(1100) }];
    expect(statuses(three, 1100 + TTL + RETIREMENT_LEEWAY_SECONDS - 50)).toEqual({
      old: 'retired',
      new: 'verifying',
      newest: 'signing',
    });
  });

  it('has exactly one signing key whatever the order of the rows, even when all are pending', () => {
    expect(statuses([...keys].reverse(), 1500)).toEqual({ old: 'verifying', new: 'signing' });
    expect(statuses(keys, -10)).toEqual({ old: 'signing', new: 'pending' });
    expect(keySchedule([], at(0), TTL)).toEqual([]);
  });
});
