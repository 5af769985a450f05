import { describe, expect, it } from '@jest/globals';
import {
  ORDER_STATUSES,
  assertCancellable,
  assertTransition,
  canTransition,
} from '../src/domain/order-status.ts';
import { ConflictError } from '../../../shared/errors.ts';

describe('order life cycle', () => {
  it('follows the happy path one step at a time', () => {
    const path = [
      'PENDING',
      'INVENTORY_RESERVED',
      'PAYMENT_AUTHORIZED',
      'CONFIRMED',
      'SHIPPED',
      'DELIVERED',
    ] as const;
    for (let i = 0; i + 1 < path.length; i++) expect(canTransition(path[i]!, path[i + 1]!)).toBe(true);
    expect(canTransition('PENDING', 'CONFIRMED')).toBe(false);
    expect(canTransition('CONFIRMED', 'PAYMENT_AUTHORIZED')).toBe(false);
  });

  it('lets nothing leave a terminal status', () => {
    for (const to of ORDER_STATUSES) {
      expect(canTransition('CANCELLED', to)).toBe(false);
      expect(canTransition('DELIVERED', to)).toBe(false);
    }
  });

  it('reports an illegal transition as CONFLICT', () => {
    expect(() => assertTransition('CANCELLED', 'CONFIRMED')).toThrow(ConflictError);
  });

  it('lets customers cancel until shipped and administrators until delivered', () => {
    expect(() => assertCancellable('CONFIRMED', 'CUSTOMER')).not.toThrow();
    expect(() => assertCancellable('SHIPPED', 'CUSTOMER')).toThrow(ConflictError);
    expect(() => assertCancellable('SHIPPED', 'ADMIN')).not.toThrow();
    expect(() => assertCancellable('DELIVERED', 'ADMIN')).toThrow(ConflictError);
    expect(() => assertCancellable('CANCELLED', 'ADMIN')).toThrow(ConflictError);
  });
});
