import { describe, expect, it } from '@jest/globals';
import { addressGroup } from './address-group.ts';

describe('addressGroup', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('203.0.113.8')).not.toBe(addressGroup('203.0.113.7'));
  });

  it('reads an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('groups IPv6 addresses by their /56, however they are written', () => {
    const one = addressGroup('2001:db8:aa:bb00::1');
    expect(one).toBe('2001:db8:aa:bb00::/56');
    expect(addressGroup('2001:0db8:00aa:bbff:ffff:ffff:ffff:ffff')).toBe(one);
    expect(addressGroup('2001:db8:aa:bb12:3456::9')).toBe(one);
    expect(addressGroup('2001:db8:aa:bc00::1')).not.toBe(one);
    expect(addressGroup('::1')).toBe('::/56');
  });

  it('keeps what is not an address, cut short', () => {
    expect(addressGroup('unknown')).toBe('unknown');
    expect(addressGroup('x'.repeat(1000))).toHaveLength(64);
  });
});
