import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker, type BreakerState } from './breaker.ts';

/** A breaker on a clock the test moves by hand, recording every state change. */
function breakerAt(options = { failureThreshold: 3, windowMs: 1000, cooldownMs: 500 }) {
  let now = 10_000;
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker({ ...options, clock: () => now, onChange: (s) => changes.push(s) });
  return { breaker, changes, advance: (ms: number) => (now += ms) };
}

/** Runs one call that fails (as the subgraph being unreachable would). */
function fail(breaker: CircuitBreaker): boolean {
  const attempt = breaker.attempt();
  attempt?.failed();
  return attempt !== undefined;
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold and opens at it', () => {
    const { breaker, changes } = breakerAt();
    expect(fail(breaker)).toBe(true);
    expect(fail(breaker)).toBe(true);
    expect(breaker.state).toBe('closed');
    expect(fail(breaker)).toBe(true);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['open']);
  });

  it('counts only the failures within the window', () => {
    const { breaker, advance } = breakerAt();
    fail(breaker);
    fail(breaker);
    advance(1001);
    fail(breaker);
    expect(breaker.state).toBe('closed');
    advance(500);
    fail(breaker);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('fails every call at once while open, until the cool-down has passed', () => {
    const { breaker, advance } = breakerAt();
    for (let i = 0; i < 3; i++) fail(breaker);
    expect(breaker.attempt()).toBeUndefined();
    advance(499);
    expect(breaker.attempt()).toBeUndefined();
    expect(breaker.snapshot()).toEqual({ state: 'open', failures: 3, retryInMs: 1 });
  });

  it('lets one probe through after the cool-down and closes when it succeeds', () => {
    const { breaker, changes, advance } = breakerAt();
    for (let i = 0; i < 3; i++) fail(breaker);
    advance(500);
    const probe = breaker.attempt();
    expect(probe).toBeDefined();
    expect(breaker.state).toBe('half-open');
    // Others fail at once while the probe is out.
    expect(breaker.attempt()).toBeUndefined();
    probe!.succeeded();
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
    // A fresh start: the old failures no longer count.
    fail(breaker);
    fail(breaker);
    expect(breaker.state).toBe('closed');
  });

  it('opens again for a whole cool-down when the probe fails', () => {
    const { breaker, changes, advance } = breakerAt();
    for (let i = 0; i < 3; i++) fail(breaker);
    advance(600);
    breaker.attempt()!.failed();
    expect(breaker.state).toBe('open');
    advance(499);
    expect(breaker.attempt()).toBeUndefined();
    advance(1);
    expect(breaker.attempt()).toBeDefined();
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open']);
  });

  it('ignores late outcomes of calls let through before it opened', () => {
    const { breaker, advance } = breakerAt();
    const slow = breaker.attempt()!;
    for (let i = 0; i < 3; i++) fail(breaker);
    advance(500);
    const probe = breaker.attempt()!;
    // The slow call's success says nothing about the subgraph now; the probe decides.
    slow.succeeded();
    expect(breaker.state).toBe('half-open');
    probe.failed();
    expect(breaker.state).toBe('open');
  });

  it('counts a call settled twice only once', () => {
    const { breaker } = breakerAt({ failureThreshold: 2, windowMs: 1000, cooldownMs: 500 });
    const attempt = breaker.attempt()!;
    attempt.failed();
    attempt.failed();
    expect(breaker.state).toBe('closed');
  });
});
