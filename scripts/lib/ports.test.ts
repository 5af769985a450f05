import { describe, expect, it } from '@jest/globals';
import { listenablePorts, portAt } from './ports.ts';

describe('listenablePorts', () => {
  it("leaves out Linux's default range for outgoing connections", () => {
    expect(listenablePorts({ first: 32_768, last: 60_999 })).toEqual([
      { first: 10_000, last: 32_767 },
      { first: 61_000, last: 65_535 },
    ]);
  });

  it("leaves out IANA's dynamic ports, which reach the top", () => {
    expect(listenablePorts({ first: 49_152, last: 65_535 })).toEqual([{ first: 10_000, last: 49_151 }]);
  });

  it('leaves nothing when outgoing connections may use every port from 10,000 up', () => {
    expect(listenablePorts({ first: 1_024, last: 65_535 })).toEqual([]);
  });

  it('keeps below 10,000 out even when the ephemeral range starts lower', () => {
    expect(listenablePorts({ first: 1_024, last: 40_000 })).toEqual([{ first: 40_001, last: 65_535 }]);
  });
});

describe('portAt', () => {
  const ranges = [
    { first: 10_000, last: 10_002 },
    { first: 20_000, last: 20_001 },
  ];

  it('counts through the ranges in order', () => {
    expect([0, 1, 2, 3, 4].map((n) => portAt(ranges, n))).toEqual([10_000, 10_001, 10_002, 20_000, 20_001]);
  });

  it('refuses a number past their end', () => {
    expect(() => portAt(ranges, 5)).toThrow(RangeError);
  });
});
