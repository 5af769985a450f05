import { describe, expect, it } from '@jest/globals';
import { availableAfterTaking, fellBelow } from '../src/domain/low-stock.ts';

describe('low-stock crossings', () => {
  it('counts only a move from the threshold or more to below it', () => {
    const change = (before: number, after: number) => ({ productId: `${before}-${after}`, before, after });
    const changes = [change(5, 4), change(9, 0), change(6, 5), change(4, 3), change(3, 8), change(4, 5)];
    expect(fellBelow(5, changes)).toEqual([change(5, 4), change(9, 0)]);
  });

  it('sums a product over its warehouses before taking', () => {
    const rows = [
      { productId: 'a', available: 4 },
      { productId: 'a', available: 3 },
      { productId: 'b', available: 2 },
    ];
    expect(
      availableAfterTaking(rows, [
        { productId: 'a', quantity: 5 },
        { productId: 'b', quantity: 2 },
      ]),
    ).toEqual([
      { productId: 'a', before: 7, after: 2 },
      { productId: 'b', before: 2, after: 0 },
    ]);
  });
});
