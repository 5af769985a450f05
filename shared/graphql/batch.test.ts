import { describe, expect, it } from '@jest/globals';
import { sharedLookups } from './batch.ts';

interface Row {
  readonly id: string;
}

/** A fetch that records what it was asked for and answers the ids it knows. */
function recordingFetch(known: readonly string[]) {
  const calls: string[][] = [];
  const fetch = async (ids: readonly string[]): Promise<Row[]> => {
    calls.push([...ids]);
    return ids.filter((id) => known.includes(id)).map((id) => ({ id }));
  };
  return { calls, fetch };
}

describe('sharedLookups', () => {
  it('merges the lookups made in one turn into one fetch, each caller getting only its own rows', async () => {
    const { calls, fetch } = recordingFetch(['a', 'b', 'c']);
    const lookup = sharedLookups(fetch, (row) => row.id);
    const [first, second] = await Promise.all([lookup(['a', 'x']), lookup(['b', 'a'])]);
    expect(calls).toHaveLength(1);
    expect([...calls[0]!].sort()).toEqual(['a', 'b', 'x']);
    expect(first).toEqual([{ id: 'a' }]);
    expect(second.map((row) => row.id).sort()).toEqual(['a', 'b']);
  });

  it('keeps nothing between turns: a later lookup fetches again', async () => {
    const { calls, fetch } = recordingFetch(['a']);
    const lookup = sharedLookups(fetch, (row) => row.id);
    await lookup(['a']);
    await lookup(['a']);
    expect(calls).toEqual([['a'], ['a']]);
  });

  it('fails every caller of a batch whose fetch fails', async () => {
    const lookup = sharedLookups<Row>(
      async () => {
        throw new Error('database down');
      },
      (row) => row.id,
    );
    const results = await Promise.allSettled([lookup(['a']), lookup(['b'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
