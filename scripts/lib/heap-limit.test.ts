import { describe, expect, it } from '@jest/globals';
import { HEAP_LIMIT_MIB, SEMI_SPACE_MIB, withHeapLimit } from './services.ts';

describe('withHeapLimit', () => {
  it("adds the process's heap limits to whatever NODE_OPTIONS holds", () => {
    expect(withHeapLimit(undefined, 'orders')).toBe(
      `--max-old-space-size=${HEAP_LIMIT_MIB.orders} --max-semi-space-size=${SEMI_SPACE_MIB}`,
    );
    expect(withHeapLimit(' --enable-source-maps ', 'gateway')).toBe(
      `--enable-source-maps --max-old-space-size=${HEAP_LIMIT_MIB.gateway} --max-semi-space-size=${SEMI_SPACE_MIB}`,
    );
  });

  it('leaves a limit the operator set alone', () => {
    expect(withHeapLimit('--max-old-space-size=2048', 'orders')).toBe(
      `--max-old-space-size=2048 --max-semi-space-size=${SEMI_SPACE_MIB}`,
    );
    expect(withHeapLimit('--max_old_space_size=300 --max-semi-space-size=64', 'users')).toBe(
      '--max_old_space_size=300 --max-semi-space-size=64',
    );
  });
});
