import { describe, expect, it } from '@jest/globals';
import { NotYetKnown, waitsPatiently } from '../src/domain/record.ts';

describe('waitsPatiently', () => {
  it('keeps an event waiting for its customer coming back, and nothing else', () => {
    expect(waitsPatiently('orders.evt.status', new NotYetKnown('user x is not known yet', true))).toBe(true);
    expect(waitsPatiently('orders.evt.status', new NotYetKnown('order y has not been seen placed yet'))).toBe(
      false,
    );
    expect(waitsPatiently('orders.evt.status', new Error('broken'))).toBe(false);
  });
});
