import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../config.ts';
import { diagnosticsEnabled, diagnosticsRoutes, HEAP_PATH, heapAfterGc } from './diagnostics.ts';

describe('diagnostics', () => {
  it('is off unless DIAGNOSTICS_ENABLED says so', () => {
    expect(diagnosticsEnabled({})).toBe(false);
    expect(diagnosticsEnabled({ DIAGNOSTICS_ENABLED: 'false' })).toBe(false);
    expect(diagnosticsRoutes({})).toEqual({});
    expect(diagnosticsEnabled({ DIAGNOSTICS_ENABLED: 'true', NODE_ENV: 'test' })).toBe(true);
    expect(Object.keys(diagnosticsRoutes({ DIAGNOSTICS_ENABLED: 'true' }))).toEqual([HEAP_PATH]);
  });

  it('refuses a bad value and production', () => {
    expect(() => diagnosticsEnabled({ DIAGNOSTICS_ENABLED: 'maybe' })).toThrow(ConfigError);
    expect(() => diagnosticsEnabled({ DIAGNOSTICS_ENABLED: 'true', NODE_ENV: 'production' })).toThrow(
      /refused in production/,
    );
  });

  it('reports the heap and says whether a collection ran', () => {
    const report = heapAfterGc();
    expect(report.heapUsed).toBeGreaterThan(0);
    expect(report.rss).toBeGreaterThanOrEqual(report.heapUsed);
    expect(report.gc).toBe(typeof (globalThis as { gc?: unknown }).gc === 'function');
  });
});
