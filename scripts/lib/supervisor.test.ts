// The supervisor's timing and messages, on Jest's fake timers and clock; processes.int.test.ts
// and e2e/degradation/supervision.e2e.test.ts run it with real processes.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Supervisor } from './supervisor.ts';

/** A stand-in process: counts starts; readiness resolves or fails as the test says. */
function harness(logFile?: string) {
  const reported: string[] = [];
  let starts = 0;
  let running = true;
  let ready: () => void = () => {};
  let notReady: (error: Error) => void = () => {};
  const supervisor = new Supervisor(
    { initialDelayMs: 500, crashLoopExits: 3, crashLoopWindowMs: 60_000 },
    {
      start: () => {
        starts += 1;
        running = true;
      },
      waitReady: () =>
        new Promise<void>((resolve, reject) => {
          ready = resolve;
          notReady = reject;
        }),
      running: () => running,
      report: (line) => reported.push(line),
      logFile,
      now: () => Date.now(),
    },
  );
  return {
    supervisor,
    reported,
    starts: () => starts,
    crash: (signal: NodeJS.Signals | null = null, code: number | null = 1) => {
      running = false;
      supervisor.exited({ code, signal });
    },
    ready: () => ready(),
    notReady: (error: Error) => notReady(error),
  };
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('Supervisor', () => {
  it('restarts after the delay and says when the process is ready again', async () => {
    const h = harness();
    h.crash('SIGKILL', null);
    expect(h.reported).toEqual(['exited (SIGKILL); restarting in 0.5 s (restart 1)']);
    jest.advanceTimersByTime(499);
    expect(h.starts()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(h.starts()).toBe(1);
    h.ready();
    await Promise.resolve();
    expect(h.reported.at(-1)).toBe('ready again (restart 1)');
  });

  it('does not restart once cancelled (kill(), stop(), Ctrl-C)', () => {
    const h = harness();
    h.crash();
    h.supervisor.cancel();
    jest.advanceTimersByTime(60_000);
    expect(h.starts()).toBe(0);
  });

  it('waits longer each time and gives up on a crash loop, naming the log', () => {
    const h = harness('/data/logs/inventory.log');
    h.crash();
    jest.advanceTimersByTime(500);
    h.crash();
    jest.advanceTimersByTime(1000);
    h.crash();
    jest.advanceTimersByTime(60_000);
    expect(h.starts()).toBe(2);
    expect(h.reported).toEqual([
      'exited (code 1); restarting in 0.5 s (restart 1)',
      'exited (code 1); restarting in 1 s (restart 2)',
      'exited 3 times within 60 s (code 1): crash loop, not restarting it; its output is in /data/logs/inventory.log',
    ]);
    expect(h.supervisor.givenUp).toBe(true);
    h.supervisor.reset();
    expect(h.supervisor.givenUp).toBe(false);
  });

  it('reports a restarted process that runs but never gets ready, not one that exited', async () => {
    const h = harness();
    h.crash();
    jest.advanceTimersByTime(500);
    h.notReady(new Error('inventory was not ready within 60000 ms\n--- last output ---'));
    await Promise.resolve();
    await Promise.resolve();
    expect(h.reported.at(-1)).toBe('not ready after restart 1: inventory was not ready within 60000 ms');

    h.crash();
    jest.advanceTimersByTime(1000);
    h.crash();
    h.notReady(new Error('exited before it was ready'));
    await Promise.resolve();
    await Promise.resolve();
    expect(h.reported.some((l) => l.includes('exited before it was ready'))).toBe(false);
  });
});
