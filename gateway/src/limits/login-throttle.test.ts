import { describeLoginThrottle } from './login-throttle.contract.ts';
import { MemoryThrottleStore } from './login-throttle-store.ts';

describeLoginThrottle(
  'the in-memory store',
  () => new MemoryThrottleStore({ maxKeys: 1000, sweepIntervalMs: 0 }),
);
