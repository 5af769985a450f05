import { describe, expect, it } from '@jest/globals';
import { BadUserInputError } from '../../../shared/errors.ts';
import {
  MAX_LINES,
  normalizeLines,
  priceLines,
  validateIdempotencyKey,
  validatePaymentMethod,
  type CatalogEntry,
} from '../src/domain/pricing.ts';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const entry = (productId: string, priceCents: number, extra: Partial<CatalogEntry> = {}): CatalogEntry => ({
  productId,
  name: `product ${productId.slice(-1)}`,
  priceCents,
  currency: 'USD',
  active: true,
  ...extra,
});

function fieldOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadUserInputError);
    return (err as BadUserInputError).details.field;
  }
  throw new Error('expected a BadUserInputError');
}

describe('normalizeLines', () => {
  it('adds up lines for the same product', () => {
    expect(
      normalizeLines([
        { productId: A, quantity: 2 },
        { productId: B, quantity: 1 },
        { productId: A, quantity: 3 },
      ]),
    ).toEqual([
      { productId: A, quantity: 5 },
      { productId: B, quantity: 1 },
    ]);
  });

  it('names the field of each bad line', () => {
    expect(fieldOf(() => normalizeLines([]))).toBe('input.items');
    expect(
      fieldOf(() =>
        normalizeLines(Array.from({ length: MAX_LINES + 1 }, () => ({ productId: A, quantity: 1 }))),
      ),
    ).toBe('input.items');
    expect(fieldOf(() => normalizeLines([{ productId: A, quantity: 0 }]))).toBe('input.items[0].quantity');
    expect(
      fieldOf(() =>
        normalizeLines([
          { productId: A, quantity: 1 },
          { productId: B, quantity: -2 },
        ]),
      ),
    ).toBe('input.items[1].quantity');
    expect(fieldOf(() => normalizeLines([{ productId: 'nope', quantity: 1 }]))).toBe(
      'input.items[0].productId',
    );
  });
});

describe('priceLines', () => {
  it('prices in integer cents from the catalogue', () => {
    const catalog = new Map([
      [A, entry(A, 1999)],
      [B, entry(B, 5)],
    ]);
    const priced = priceLines(
      [
        { productId: A, quantity: 3 },
        { productId: B, quantity: 7 },
      ],
      catalog,
    );
    expect(priced.totalCents).toBe(3 * 1999 + 7 * 5);
    expect(priced.currency).toBe('USD');
    expect(priced.lines[0]).toMatchObject({ productId: A, unitPriceCents: 1999, productName: 'product a' });
  });

  it('refuses unknown, inactive and mixed-currency products', () => {
    expect(fieldOf(() => priceLines([{ productId: A, quantity: 1 }], new Map()))).toBe(
      'input.items[0].productId',
    );
    expect(
      fieldOf(() =>
        priceLines([{ productId: A, quantity: 1 }], new Map([[A, entry(A, 1, { active: false })]])),
      ),
    ).toBe('input.items[0].productId');
    const mixed = new Map([
      [A, entry(A, 1)],
      [B, entry(B, 1, { currency: 'EUR' })],
    ]);
    expect(
      fieldOf(() =>
        priceLines(
          [
            { productId: A, quantity: 1 },
            { productId: B, quantity: 1 },
          ],
          mixed,
        ),
      ),
    ).toBe('input.items');
  });

  it('refuses a total that does not fit a GraphQL Int', () => {
    expect(
      fieldOf(() => priceLines([{ productId: A, quantity: 10_000 }], new Map([[A, entry(A, 1_000_000)]]))),
    ).toBe('input.items');
  });
});

describe('payment method and idempotency key', () => {
  it('accepts tokens and refuses anything else', () => {
    expect(validatePaymentMethod(' pm_card_visa ')).toBe('pm_card_visa');
    expect(fieldOf(() => validatePaymentMethod('drop table;'))).toBe('input.paymentMethod');
    expect(validateIdempotencyKey(undefined)).toBeNull();
    expect(fieldOf(() => validateIdempotencyKey(''))).toBe('input.idempotencyKey');
  });
});
