// The arithmetic of the login throttle, as pure functions of a key's state and the time, so it
// is tested without clocks and runs unchanged over any store (in memory, or Redis with REDIS_URL).
//
// Failed sign-ins: a key (an account at an address, or an address alone) has some free
// failures; from then on each failure locks the key for a delay that doubles up to a maximum.
// An attempt on a locked key is refused before the password is checked. Attempts in flight
// count against the free failures, so a burst of parallel guesses gets no more than a burst of
// sequential ones. Failures are forgotten some time after the last one.
//
// Registrations: a token bucket per address (a registration hashes a password whatever its
// outcome, so every attempt counts, not only failures). It is written here rather than reusing
// TokenBuckets because its state has to live in the same store as the failures.

export interface BackOffOptions {
  /** Failures before the first delay. */
  readonly freeFailures: number;
  /** The first delay; each further failure doubles it. */
  readonly baseDelayMs: number;
  /** The longest delay. */
  readonly maxDelayMs: number;
  /** A key's failures are forgotten this long after its last failure (≥ maxDelayMs). */
  readonly forgetAfterMs: number;
}

export interface RegisterBudget {
  /** Registrations an address may make at once. */
  readonly burst: number;
  /** Registrations added back per second. */
  readonly perSecond: number;
}

/** How long an attempt may stay in flight before it is no longer counted (a lost response). */
export const IN_FLIGHT_TIMEOUT_MS = 60_000;

export interface FailureState {
  readonly kind: 'failures';
  readonly failures: number;
  /** Attempts allowed and not yet answered. */
  readonly inFlight: number;
  /** When the last attempt started (in-flight attempts older than IN_FLIGHT_TIMEOUT_MS lapse). */
  readonly attemptedAt: number;
  /** No attempt before this time (ms since the epoch; 0: not locked). */
  readonly lockedUntil: number;
  /** When the store may drop the state. */
  readonly expiresAt: number;
}

export interface BucketState {
  readonly kind: 'bucket';
  readonly tokens: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
}

export type ThrottleState = FailureState | BucketState;

export type Decision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Whole seconds until an attempt may be made again (at least 1). */
      readonly retryAfterSeconds: number;
    };

/** The state's next value and what to tell the caller. */
export interface Transition<R> {
  readonly state: ThrottleState | undefined;
  readonly result: R;
}

const refuse = (ms: number): Decision => ({
  allowed: false,
  retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)),
});

function failuresOf(state: ThrottleState | undefined, now: number): FailureState | undefined {
  if (state?.kind !== 'failures' || state.expiresAt <= now) return undefined;
  if (state.inFlight > 0 && now - state.attemptedAt >= IN_FLIGHT_TIMEOUT_MS) return { ...state, inFlight: 0 };
  return state;
}

/** The delay after `failures` failures: none within the free ones, then doubling up to the max. */
export function delayAfter(failures: number, options: BackOffOptions): number {
  if (failures < options.freeFailures) return 0;
  const doublings = failures - options.freeFailures;
  // 2 ** doublings overflows to Infinity for huge counts; min() still gives the max.
  return Math.min(options.baseDelayMs * 2 ** doublings, options.maxDelayMs);
}

/**
 * Starts an attempt: refused while the key is locked, or when the attempts in flight already
 * use up the free failures; otherwise counted as in flight until `endAttempt`.
 */
export function beginAttempt(
  previous: ThrottleState | undefined,
  now: number,
  options: BackOffOptions,
): Transition<Decision> {
  const state = failuresOf(previous, now);
  if (state && state.lockedUntil > now) return { state, result: refuse(state.lockedUntil - now) };
  // Past the free failures, one attempt at a time: the one the expired lock allows.
  if (state && state.inFlight > 0 && state.failures + state.inFlight >= options.freeFailures) {
    return { state, result: refuse(0) };
  }
  const next: FailureState = {
    kind: 'failures',
    failures: state?.failures ?? 0,
    inFlight: (state?.inFlight ?? 0) + 1,
    attemptedAt: now,
    lockedUntil: state?.lockedUntil ?? 0,
    expiresAt: Math.max(state?.expiresAt ?? 0, now + IN_FLIGHT_TIMEOUT_MS),
  };
  return { state: next, result: { allowed: true } };
}

export type Outcome = 'failed' | 'succeeded' | 'abandoned';

/**
 * Ends an attempt begun with `beginAttempt`. A failure counts and may lock the key; a success
 * or an attempt that never checked the password (e.g. invalid input) does not. `reset` (for the
 * account at an address, on success) forgets the key altogether.
 */
export function endAttempt(
  previous: ThrottleState | undefined,
  now: number,
  outcome: Outcome,
  options: BackOffOptions,
  reset = false,
): Transition<void> {
  if (outcome === 'succeeded' && reset) return { state: undefined, result: undefined };
  const state = failuresOf(previous, now);
  if (!state) {
    // Forgotten meanwhile (expired or evicted): a failure still counts.
    if (outcome !== 'failed') return { state: undefined, result: undefined };
  }
  const inFlight = Math.max(0, (state?.inFlight ?? 0) - 1);
  const base: FailureState = state ?? {
    kind: 'failures',
    failures: 0,
    inFlight: 0,
    attemptedAt: now,
    lockedUntil: 0,
    expiresAt: 0,
  };
  if (outcome !== 'failed') {
    if (base.failures === 0 && inFlight === 0) return { state: undefined, result: undefined };
    return { state: { ...base, inFlight }, result: undefined };
  }
  const failures = base.failures + 1;
  const delay = delayAfter(failures, options);
  return {
    state: {
      ...base,
      failures,
      inFlight,
      lockedUntil: delay > 0 ? now + delay : 0,
      expiresAt: now + Math.max(options.forgetAfterMs, delay),
    },
    result: undefined,
  };
}

/** Takes one registration from an address's bucket. */
export function takeRegistration(
  previous: ThrottleState | undefined,
  now: number,
  budget: RegisterBudget,
): Transition<Decision> {
  const state = previous?.kind === 'bucket' ? previous : undefined;
  const elapsedSeconds = state ? Math.max(0, now - state.updatedAt) / 1000 : 0;
  const tokens = state
    ? Math.min(budget.burst, state.tokens + elapsedSeconds * budget.perSecond)
    : budget.burst;
  // A full bucket holds no information: it may be dropped once it has refilled.
  const refilledAt = (left: number) => now + Math.ceil(((budget.burst - left) / budget.perSecond) * 1000);
  if (tokens < 1) {
    // Keep the state as it was, so the refill is computed from its last change.
    return { state, result: refuse(((1 - tokens) / budget.perSecond) * 1000) };
  }
  return {
    state: { kind: 'bucket', tokens: tokens - 1, updatedAt: now, expiresAt: refilledAt(tokens - 1) },
    result: { allowed: true },
  };
}
