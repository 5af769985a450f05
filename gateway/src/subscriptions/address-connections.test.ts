import { describe, expect, it } from '@jest/globals';
import { AddressConnections } from './address-connections.ts';

describe('AddressConnections', () => {
  it('refuses an address past its cap, and frees a place on release', () => {
    const connections = new AddressConnections(2);
    const first = connections.take('203.0.113.7');
    expect(first).toBeDefined();
    expect(connections.take('203.0.113.7')).toBeDefined();
    expect(connections.take('203.0.113.7')).toBeUndefined();
    // Another address is not affected.
    expect(connections.take('198.51.100.1')).toBeDefined();
    first!();
    expect(connections.take('203.0.113.7')).toBeDefined();
  });

  it('keeps nothing for a refusal, counts a release once, and forgets an address at zero', () => {
    const connections = new AddressConnections(1);
    const release = connections.take('203.0.113.7')!;
    for (let i = 0; i < 100; i += 1) connections.take('203.0.113.7');
    expect(connections.heldBy('203.0.113.7')).toBe(1);
    release();
    release();
    expect(connections.heldBy('203.0.113.7')).toBe(0);
    expect(connections.addresses).toBe(0);
  });
});
