import { describe, expect, it } from '@jest/globals';
import { stableJson } from './stable-json.ts';

describe('stableJson', () => {
  it('is the same for objects whose keys were written in another order, at every depth', () => {
    expect(stableJson({ b: 2, a: { d: [1, { f: 1, e: 2 }], c: null } })).toBe(
      stableJson({ a: { c: null, d: [1, { e: 2, f: 1 }] }, b: 2 }),
    );
  });

  it('keeps the order of arrays and tells different values apart', () => {
    expect(stableJson([1, 2])).not.toBe(stableJson([2, 1]));
    expect(stableJson({ a: 1 })).not.toBe(stableJson({ a: '1' }));
    expect(stableJson({ a: 1, b: 2 })).toBe('{"a":1,"b":2}');
  });
});
