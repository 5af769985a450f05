// Supervises one process of the system: when it exits with nobody having asked it to, it is
// started again after the RestartPolicy's delay, and every decision is said in one line about
// that process. The process itself (spawning, readiness, output) stays with processes.ts,
// reached through the hooks, so this holds only the timing and the messages.

import { RestartPolicy, formatDuration, type SupervisionSettings } from './supervisor-policy.ts';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** `SIGKILL` or `code 1`, as the lines about a process say it. */
export function describeExit(exit: ExitInfo): string {
  return exit.signal ?? `code ${exit.code}`;
}

export interface SupervisorHooks {
  /** Spawns the process again (same port, same environment). */
  start(): void;
  /** Resolves once the process answers ready; returns quietly once `signal` is aborted. */
  waitReady(signal: AbortSignal): Promise<void>;
  running(): boolean;
  /** Says one line about the process (the launcher's voice, not the process's output). */
  report(line: string): void;
  /** The file that holds the process's output, named when giving up on it. */
  readonly logFile: string | undefined;
  readonly now?: () => number;
}

export class Supervisor {
  private readonly policy: RestartPolicy;
  private readonly hooks: SupervisorHooks;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readiness: AbortController | undefined;

  constructor(settings: Partial<SupervisionSettings>, hooks: SupervisorHooks) {
    this.policy = new RestartPolicy(settings);
    this.hooks = hooks;
    this.now = hooks.now ?? Date.now;
  }

  /** True once it gave up on a crash loop, until reset(). */
  get givenUp(): boolean {
    return this.policy.givenUp;
  }

  /** The process was just spawned (by anyone): its healthy run is measured from now. */
  started(): void {
    this.policy.started(this.now());
  }

  /** The process exited on its own. */
  exited(exit: ExitInfo): void {
    this.cancel();
    const decision = this.policy.exited(this.now());
    if (decision.action === 'give-up') {
      const where = this.hooks.logFile
        ? `its output is in ${this.hooks.logFile}`
        : 'its last output is above (no log directory was given)';
      this.hooks.report(
        `exited ${decision.exits} times within ${formatDuration(decision.windowMs)} (${describeExit(exit)}): ` +
          `crash loop, not restarting it; ${where}`,
      );
      return;
    }
    const { delayMs, attempt } = decision;
    this.hooks.report(
      `exited (${describeExit(exit)}); restarting in ${formatDuration(delayMs)} (restart ${attempt})`,
    );
    this.timer = setTimeout(() => this.restart(attempt), delayMs);
  }

  /** Drops a pending restart and stops waiting for readiness (the process is being stopped or restarted on purpose). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.readiness?.abort();
    this.readiness = undefined;
  }

  /** cancel(), and forgets the exits so far (a deliberate restart starts a fresh record). */
  reset(): void {
    this.cancel();
    this.policy.reset();
  }

  private restart(attempt: number): void {
    this.timer = undefined;
    const readiness = new AbortController();
    this.readiness = readiness;
    this.hooks.start();
    this.hooks.waitReady(readiness.signal).then(
      () => {
        if (!readiness.signal.aborted) this.hooks.report(`ready again (restart ${attempt})`);
      },
      (error: unknown) => {
        // An exit before it was ready is reported by exited(); only a process that runs but
        // does not answer ready is worth a line of its own.
        if (readiness.signal.aborted || !this.hooks.running()) return;
        const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
        this.hooks.report(`not ready after restart ${attempt}: ${reason}`);
      },
    );
  }
}
