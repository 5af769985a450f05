import { describe, expect, it } from '@jest/globals';
import { demoSeedingWanted } from './demo-seed.ts';
import { DEMO_PRODUCTS, DEMO_WAREHOUSES } from './demo-catalogue.ts';

describe('whether npm start seeds the demo data', () => {
  it('does in development unless SEED_DEMO is false, and never in production', () => {
    expect(demoSeedingWanted({})).toBe(true);
    expect(demoSeedingWanted({ NODE_ENV: 'development', SEED_DEMO: 'true' })).toBe(true);
    expect(demoSeedingWanted({ SEED_DEMO: 'false' })).toBe(false);
    expect(demoSeedingWanted({ SEED_DEMO: '0' })).toBe(false);
    expect(demoSeedingWanted({ NODE_ENV: 'production' })).toBe(false);
    expect(demoSeedingWanted({ NODE_ENV: 'production', SEED_DEMO: 'true' })).toBe(false);
  });

  it('refuses a SEED_DEMO that is neither true nor false', () => {
    expect(() => demoSeedingWanted({ SEED_DEMO: 'sometimes' })).toThrow('SEED_DEMO must be true or false');
  });
});

describe('the demo catalogue', () => {
  it('has about twenty products with unique SKUs in a few categories, stocked in both warehouses', () => {
    expect(DEMO_PRODUCTS).toHaveLength(20);
    expect(new Set(DEMO_PRODUCTS.map((p) => p.sku)).size).toBe(20);
    expect(new Set(DEMO_PRODUCTS.map((p) => p.category)).size).toBe(4);
    for (const product of DEMO_PRODUCTS) {
      for (const warehouse of DEMO_WAREHOUSES) expect(product.stock[warehouse]).toBeGreaterThan(0);
    }
  });
});
