import { describe, expect, it } from '@jest/globals';
import type { ThrottleState } from './login-throttle-policy.ts';
import { MemoryThrottleStore } from './login-throttle-store.ts';

const bucket = (expiresAt: number): ThrottleState => ({ kind: 'bucket', tokens: 1, updatedAt: 0, expiresAt });
const put = (store: MemoryThrottleStore, key: string, now: number, state: ThrottleState | undefined) =>
  store.update(key, now, () => ({ state, result: undefined }));
const read = (store: MemoryThrottleStore, key: string, now: number) =>
  store.update(key, now, (state) => ({ state, result: state }));

describe('MemoryThrottleStore', () => {
  it('keeps a state until it expires, and deletes it when told', async () => {
    const store = new MemoryThrottleStore({ maxKeys: 10, sweepIntervalMs: 0 });
    await put(store, 'a', 0, bucket(100));
    expect(await read(store, 'a', 99)).toEqual(bucket(100));
    expect(await read(store, 'a', 100)).toBeUndefined();
    await put(store, 'b', 0, bucket(100));
    await put(store, 'b', 1, undefined);
    expect(store.size).toBe(0);
  });

  it('sweeps expired states', async () => {
    const store = new MemoryThrottleStore({ maxKeys: 10, sweepIntervalMs: 0 });
    await put(store, 'a', 0, bucket(100));
    await put(store, 'b', 0, bucket(200));
    store.sweep(150);
    expect(store.size).toBe(1);
  });

  it('keeps at most maxKeys states, dropping the least recently updated', async () => {
    const store = new MemoryThrottleStore({ maxKeys: 3, sweepIntervalMs: 0 });
    for (const key of ['a', 'b', 'c']) await put(store, key, 0, bucket(1000));
    await read(store, 'a', 1);
    await put(store, 'd', 1, bucket(1000));
    expect(store.size).toBe(3);
    expect(await read(store, 'b', 2)).toBeUndefined();
    expect(await read(store, 'a', 2)).toEqual(bucket(1000));
  });
});
