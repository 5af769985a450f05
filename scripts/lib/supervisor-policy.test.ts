import { describe, expect, it } from '@jest/globals';
import { RestartPolicy, formatDuration } from './supervisor-policy.ts';

/** Starts at `at`, exits `ranMs` later; returns the decision and the time of the exit. */
function run(policy: RestartPolicy, at: number, ranMs: number) {
  policy.started(at);
  return { decision: policy.exited(at + ranMs), exitedAt: at + ranMs };
}

describe('RestartPolicy', () => {
  it('doubles the delay from the first one up to the cap', () => {
    const policy = new RestartPolicy({
      initialDelayMs: 500,
      maxDelayMs: 3000,
      crashLoopExits: 100,
      crashLoopWindowMs: 1000,
    });
    const delays: number[] = [];
    const attempts: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      // every exit outside the crash-loop window of the one before, so only the back-off shows
      const { decision, exitedAt } = run(policy, now, 2000);
      if (decision.action !== 'restart') throw new Error(`gave up at exit ${i + 1}`);
      delays.push(decision.delayMs);
      attempts.push(decision.attempt);
      now = exitedAt + decision.delayMs;
    }
    expect(delays).toEqual([500, 1000, 2000, 3000, 3000, 3000]);
    expect(attempts).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('starts from the first delay again after the process ran healthy long enough', () => {
    const policy = new RestartPolicy({ initialDelayMs: 500, healthyAfterMs: 30_000, crashLoopExits: 10 });
    expect(run(policy, 0, 100).decision).toMatchObject({ delayMs: 500, attempt: 1 });
    expect(run(policy, 1000, 100).decision).toMatchObject({ delayMs: 1000, attempt: 2 });
    expect(run(policy, 3000, 29_999).decision).toMatchObject({ delayMs: 2000, attempt: 3 });
    expect(run(policy, 40_000, 30_000).decision).toMatchObject({ delayMs: 500, attempt: 1 });
  });

  it('gives up after the given number of exits within the window, and stays given up', () => {
    const policy = new RestartPolicy({ crashLoopExits: 5, crashLoopWindowMs: 60_000 });
    const actions = [0, 5000, 10_000, 20_000].map((at) => run(policy, at, 10).decision.action);
    expect(actions).toEqual(['restart', 'restart', 'restart', 'restart']);
    expect(policy.givenUp).toBe(false);
    expect(run(policy, 40_000, 10).decision).toEqual({ action: 'give-up', exits: 5, windowMs: 60_000 });
    expect(policy.givenUp).toBe(true);
    expect(policy.exited(200_000).action).toBe('give-up');
  });

  it('counts only the exits within the window', () => {
    const policy = new RestartPolicy({ crashLoopExits: 3, crashLoopWindowMs: 10_000, healthyAfterMs: 1e9 });
    expect(run(policy, 0, 10).decision.action).toBe('restart');
    expect(run(policy, 5000, 10).decision.action).toBe('restart');
    // the first exit (at 10) has left the window by 10_010
    expect(run(policy, 10_000, 10).decision.action).toBe('restart');
    expect(run(policy, 12_000, 10).decision.action).toBe('give-up');
  });

  it('forgets everything on reset (a deliberate restart)', () => {
    const policy = new RestartPolicy({ crashLoopExits: 2 });
    run(policy, 0, 10);
    expect(run(policy, 100, 10).decision.action).toBe('give-up');
    policy.reset();
    expect(policy.givenUp).toBe(false);
    expect(run(policy, 200, 10).decision).toMatchObject({ action: 'restart', attempt: 1 });
  });

  it('refuses settings that make no sense', () => {
    expect(() => new RestartPolicy({ crashLoopExits: 0 })).toThrow(/crashLoopExits/);
    expect(() => new RestartPolicy({ initialDelayMs: 1000, maxDelayMs: 10 })).toThrow(/maxDelayMs/);
    expect(() => new RestartPolicy({ initialDelayMs: 0.5 })).toThrow(/initialDelayMs/);
  });
});

describe('formatDuration', () => {
  it('reads as a person says it', () => {
    expect([20, 500, 1000, 1500, 30_000, 60_000, 120_000].map(formatDuration)).toEqual([
      '20 ms',
      '0.5 s',
      '1 s',
      '1.5 s',
      '30 s',
      '60 s',
      '2 min',
    ]);
  });
});
