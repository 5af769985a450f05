import { describe, expect, it } from '@jest/globals';
import { countDown, countUp, releaseOnce } from './counts.ts';

describe('counts', () => {
  it('forgets a key when its count comes back to zero', () => {
    const counts = new Map<string, number>();
    countUp(counts, 'a');
    countUp(counts, 'a');
    countDown(counts, 'a');
    expect(counts.get('a')).toBe(1);
    countDown(counts, 'a');
    expect(counts.has('a')).toBe(false);
    // A count down for a key never counted leaves nothing behind either.
    countDown(counts, 'b');
    expect(counts.size).toBe(0);
  });

  it('releases once however often the release is called', () => {
    let released = 0;
    const release = releaseOnce(() => (released += 1));
    release();
    release();
    expect(released).toBe(1);
  });
});
