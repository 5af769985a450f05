import { describe, expect, it } from '@jest/globals';
import { InFlightCalls } from './in-flight.ts';

/** A run the test settles by hand, counting how often it was started. */
function manualRun<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  let runs = 0;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return {
    run: () => ((runs += 1), promise),
    resolve: (value: T) => resolve(value),
    reject: (error: unknown) => reject(error),
    runs: () => runs,
  };
}

describe('InFlightCalls', () => {
  it('runs once for concurrent calls of one key and gives each waiter its own copy', async () => {
    const calls = new InFlightCalls<{ items: number[] }>(structuredClone);
    const run = manualRun<{ items: number[] }>();
    const first = calls.call('k', run.run);
    const second = calls.call('k', run.run);
    const third = calls.call('k', run.run);
    expect([first.shared, second.shared, third.shared]).toEqual([false, true, true]);
    const original = { items: [1, 2] };
    run.resolve(original);
    const results = await Promise.all([first.result, second.result, third.result]);
    expect(run.runs()).toBe(1);
    expect(results).toEqual([original, original, original]);
    // The first caller keeps the original; every waiter has an object of its own.
    expect(results[0]).toBe(original);
    expect(new Set(results).size).toBe(3);
    expect(new Set(results.map((r) => r.items)).size).toBe(3);
  });

  it('makes the copies before any caller resumes, so no caller sees another’s writes', async () => {
    const calls = new InFlightCalls<{ seen: string[] }>(structuredClone);
    const run = manualRun<{ seen: string[] }>();
    const writers = ['a', 'b', 'c'].map(async (name) => {
      const value = await calls.call('k', run.run).result;
      value.seen.push(name);
      return value.seen;
    });
    run.resolve({ seen: [] });
    expect(await Promise.all(writers)).toEqual([['a'], ['b'], ['c']]);
  });

  it('keeps different keys apart', async () => {
    const calls = new InFlightCalls<string>((v) => v);
    const a = manualRun<string>();
    const b = manualRun<string>();
    const fromA = calls.call('a', a.run);
    const fromB = calls.call('b', b.run);
    expect(fromB.shared).toBe(false);
    a.resolve('A');
    b.resolve('B');
    expect([await fromA.result, await fromB.result]).toEqual(['A', 'B']);
  });

  it('rejects every waiter with the failure and forgets the key', async () => {
    const calls = new InFlightCalls<string>((v) => v);
    const run = manualRun<string>();
    const first = calls.call('k', run.run);
    const second = calls.call('k', run.run);
    const failure = new Error('down');
    run.reject(failure);
    await expect(first.result).rejects.toBe(failure);
    await expect(second.result).rejects.toBe(failure);
    expect(calls.size).toBe(0);
  });

  it('runs afresh once the call in flight has settled', async () => {
    const calls = new InFlightCalls<number>((v) => v);
    let runs = 0;
    const run = async () => (runs += 1);
    expect(await calls.call('k', run).result).toBe(1);
    const again = calls.call('k', run);
    expect(again.shared).toBe(false);
    expect(await again.result).toBe(2);
    expect(calls.size).toBe(0);
  });

  it('fails only the waiter whose copy fails', async () => {
    let copies = 0;
    const calls = new InFlightCalls<string>((v) => {
      copies += 1;
      if (copies === 1) throw new Error('cannot copy');
      return v;
    });
    const run = manualRun<string>();
    const first = calls.call('k', run.run);
    const second = calls.call('k', run.run);
    const third = calls.call('k', run.run);
    run.resolve('x');
    expect(await first.result).toBe('x');
    await expect(second.result).rejects.toThrow('cannot copy');
    expect(await third.result).toBe('x');
  });
});
