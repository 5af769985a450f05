// A circuit breaker for one subgraph. Closed: calls go through and failures (the subgraph
// unreachable, timing out or answering 502/503/504) are counted; `failureThreshold` of them
// within `windowMs` open it. Open: every call fails at once, so a dead subgraph costs its
// callers nothing, for `cooldownMs`. Then the next call is let through as the one probe
// (half-open) while the others still fail at once: it closes the breaker if the subgraph
// answers, else the breaker opens for another cool-down.
//
// Home-made on purpose (about 100 lines): the libraries checked here behave otherwise where it
// matters. cockatiel 4 makes calls that arrive while the half-open probe is out wait for its
// outcome (a hanging subgraph then holds every caller up to its timeout) instead of failing at
// once; opossum trips on an error percentage over rolling buckets driven by its own timers,
// which a test cannot move by hand. This one takes its clock as a parameter.

export type BreakerState = 'closed' | 'half-open' | 'open';

export interface BreakerSettings {
  /** Failures within the window that open the breaker. */
  readonly failureThreshold: number;
  /** How far back failures count. */
  readonly windowMs: number;
  /** How long an open breaker fails calls at once before it lets a probe through. */
  readonly cooldownMs: number;
}

export interface BreakerOptions extends BreakerSettings {
  /** Milliseconds now (default Date.now); tests pass their own. */
  readonly clock?: () => number;
  /** Called on every change of state, with the new state. */
  readonly onChange?: (state: BreakerState) => void;
}

/** One call the breaker let through: report how it ended, once. */
export interface BreakerAttempt {
  /** The subgraph answered (whatever the answer). */
  succeeded(): void;
  /** The subgraph could not be reached, timed out or said it is unavailable. */
  failed(): void;
}

export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** Failures counted within the window. */
  readonly failures: number;
  /** While open: milliseconds until a probe may go (0: the next call is the probe). */
  readonly retryInMs?: number;
}

export class CircuitBreaker {
  private readonly settings: BreakerSettings;
  private readonly clock: () => number;
  private readonly onChange: (state: BreakerState) => void;
  private current: BreakerState = 'closed';
  /** When each failure counted in the closed state happened, oldest first. */
  private failures: number[] = [];
  private openedAt = 0;
  /** Outcomes of calls let through under an older state are ignored: only a newer call speaks for the subgraph now. */
  private generation = 0;

  constructor(options: BreakerOptions) {
    this.settings = {
      failureThreshold: options.failureThreshold,
      windowMs: options.windowMs,
      cooldownMs: options.cooldownMs,
    };
    this.clock = options.clock ?? Date.now;
    this.onChange = options.onChange ?? (() => {});
  }

  get state(): BreakerState {
    return this.current;
  }

  snapshot(): BreakerSnapshot {
    const failures = this.recentFailures().length;
    if (this.current !== 'open') return { state: this.current, failures };
    const retryInMs = Math.max(0, this.openedAt + this.settings.cooldownMs - this.clock());
    return { state: this.current, failures, retryInMs };
  }

  /** A call may go (report its outcome on the attempt), or undefined: fail it at once. */
  attempt(): BreakerAttempt | undefined {
    if (this.current === 'half-open') return undefined;
    let probe = false;
    if (this.current === 'open') {
      if (this.clock() - this.openedAt < this.settings.cooldownMs) return undefined;
      this.moveTo('half-open');
      probe = true;
    }
    const generation = this.generation;
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled || generation !== this.generation) return;
      settled = true;
      if (probe) this.moveTo(ok ? 'closed' : 'open');
      else if (!ok) this.countFailure();
    };
    return { succeeded: () => settle(true), failed: () => settle(false) };
  }

  private countFailure(): void {
    this.failures = [...this.recentFailures(), this.clock()];
    if (this.failures.length >= this.settings.failureThreshold) this.moveTo('open');
  }

  private recentFailures(): number[] {
    const since = this.clock() - this.settings.windowMs;
    return this.failures.filter((at) => at > since);
  }

  private moveTo(state: BreakerState): void {
    this.current = state;
    this.generation += 1;
    if (state === 'open') this.openedAt = this.clock();
    // A breaker closes on a fresh count: the failures that opened it are over.
    if (state === 'closed') this.failures = [];
    this.onChange(state);
  }
}
