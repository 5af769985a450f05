// When a supervised process that exited on its own is started again: pure logic, the clock is
// passed in, so the back-off and the crash-loop rule are tested without waiting.
//
// Each restart waits twice as long as the one before, up to a cap; a process that has run
// healthy for a while starts the next series from the first delay again. Too many exits within
// a window is a crash loop: restarting it again would only repeat the crash and bury its cause
// under new output, so the supervisor gives up on that process and says where its log is.

export interface SupervisionSettings {
  /** Delay before the first restart of a series. */
  readonly initialDelayMs: number;
  /** The delay doubles with each restart of a series up to this. */
  readonly maxDelayMs: number;
  /** A process that ran this long before it exited begins a new series (first delay again). */
  readonly healthyAfterMs: number;
  /** This many exits ... */
  readonly crashLoopExits: number;
  /** ... within this window is a crash loop: no more restarts. */
  readonly crashLoopWindowMs: number;
}

export const DEFAULT_SUPERVISION: SupervisionSettings = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  healthyAfterMs: 60_000,
  crashLoopExits: 5,
  crashLoopWindowMs: 60_000,
};

export type RestartDecision =
  | {
      readonly action: 'restart';
      readonly delayMs: number;
      /** 1 for the first restart of a series, 2 for the next ... */
      readonly attempt: number;
    }
  | {
      readonly action: 'give-up';
      /** Exits counted within the window, this one included. */
      readonly exits: number;
      readonly windowMs: number;
    };

export class RestartPolicy {
  readonly settings: SupervisionSettings;
  private attempt = 0;
  private startedAt: number | undefined;
  private exits: number[] = [];
  private gaveUp = false;

  constructor(settings: Partial<SupervisionSettings> = {}) {
    this.settings = { ...DEFAULT_SUPERVISION, ...settings };
    const { initialDelayMs, maxDelayMs, healthyAfterMs, crashLoopExits, crashLoopWindowMs } = this.settings;
    const whole = (name: string, value: number, min: number): void => {
      if (!Number.isInteger(value) || value < min)
        throw new RangeError(`supervision: ${name} must be a whole number >= ${min}, got ${value}`);
    };
    whole('initialDelayMs', initialDelayMs, 0);
    whole('maxDelayMs', maxDelayMs, initialDelayMs);
    whole('healthyAfterMs', healthyAfterMs, 0);
    whole('crashLoopExits', crashLoopExits, 1);
    whole('crashLoopWindowMs', crashLoopWindowMs, 1);
  }

  /** True once a crash loop was found, until reset(). */
  get givenUp(): boolean {
    return this.gaveUp;
  }

  /** The process was started (by the launcher or a restart) at `now`. */
  started(now: number): void {
    this.startedAt = now;
  }

  /** The process exited on its own at `now`: restart it after a delay, or give up. */
  exited(now: number): RestartDecision {
    if (this.gaveUp) {
      return { action: 'give-up', exits: this.exits.length, windowMs: this.settings.crashLoopWindowMs };
    }
    const { initialDelayMs, maxDelayMs, healthyAfterMs, crashLoopExits, crashLoopWindowMs } = this.settings;
    if (this.startedAt !== undefined && now - this.startedAt >= healthyAfterMs) this.attempt = 0;
    this.startedAt = undefined;
    this.exits = [...this.exits.filter((at) => now - at < crashLoopWindowMs), now];
    if (this.exits.length >= crashLoopExits) {
      this.gaveUp = true;
      return { action: 'give-up', exits: this.exits.length, windowMs: crashLoopWindowMs };
    }
    this.attempt += 1;
    const delayMs = Math.min(maxDelayMs, initialDelayMs * 2 ** (this.attempt - 1));
    return { action: 'restart', delayMs, attempt: this.attempt };
  }

  /** Forgets every exit (a deliberate restart by whoever runs the system). */
  reset(): void {
    this.attempt = 0;
    this.exits = [];
    this.gaveUp = false;
    this.startedAt = undefined;
  }
}

/** `20 ms`, `0.5 s`, `1 s`, `30 s`, `1.5 min`: a delay or window as a person reads it. */
export function formatDuration(ms: number): string {
  if (ms < 1000 && ms % 100 !== 0) return `${ms} ms`;
  if (ms >= 90_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}
