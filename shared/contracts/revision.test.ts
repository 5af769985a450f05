import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { ContractViolation, validateMessage } from './index.ts';

const productChanged = (revision: number) => ({
  v: 1,
  productId: randomUUID(),
  sku: 'SKU-1',
  name: 'A product',
  priceCents: 100,
  currency: 'USD',
  active: true,
  revision,
});

describe('products.evt.product_changed revision', () => {
  it('takes revisions up to what both services store (PostgreSQL integer)', () => {
    expect(validateMessage('products.evt.product_changed', productChanged(1)).revision).toBe(1);
    expect(validateMessage('products.evt.product_changed', productChanged(2_147_483_647)).revision).toBe(
      2_147_483_647,
    );
  });

  // A revision no product can reach would otherwise fail orders' insert on every delivery (and,
  // stored, would freeze orders' copy of the product for good): refused as a broken contract.
  it.each([2_147_483_648, Number.MAX_SAFE_INTEGER, 1e300, 0, -1, 1.5])('refuses revision %d', (revision) => {
    expect(() => validateMessage('products.evt.product_changed', productChanged(revision))).toThrow(
      ContractViolation,
    );
  });
});
