// Starting, stopping and reporting on the system's processes: what start-up, supervision and
// the running system's kill, restart and stop share (see processes.ts).
import { describeExit, type ExitInfo } from './supervisor.ts';
import { waitReady } from './readiness.ts';
import type { ManagedProcess } from './managed-process.ts';
import type { Env, OutputLine, OutputOption, StartSystemOptions } from './processes.ts';

export interface LaunchSettings {
  readonly cwd: string;
  readonly nodePath: string;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly envOf: (p: ManagedProcess) => Env;
}

export interface ProcessControl {
  /** Whether stopAll() has begun: nothing is started or restarted any more. */
  readonly stopping: boolean;
  /** A line the launcher says about the process. */
  report(p: ManagedProcess, line: string): void;
  spawnProcess(p: ManagedProcess): void;
  stopProcess(p: ManagedProcess, signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Stops every process, the gateway first; an `exit` hook SIGKILLs them until then. */
  stopAll(): Promise<void>;
  /** Spawns the group and waits until each one is ready. */
  startAndWait(group: ManagedProcess[], signal: AbortSignal): Promise<void>;
}

export function createProcessControl(
  processes: readonly ManagedProcess[],
  options: StartSystemOptions,
  launch: LaunchSettings,
): ProcessControl {
  const { cwd, nodePath, readyTimeoutMs, stopTimeoutMs, envOf } = launch;
  const width = Math.max(...processes.map((p) => p.id.length));
  const write = outputWriter(options.output ?? 'prefix', width);
  const report = (p: ManagedProcess, line: string): void => {
    p.log?.note(line);
    write({ id: p.id, name: p.name, stream: 'stderr', line, source: 'supervisor' });
  };

  let stopping = false;
  const spawnProcess = (p: ManagedProcess): void =>
    p.spawn(
      { nodePath, nodeArgs: options.nodeArgs ?? [], cwd, env: envOf(p) },
      {
        line: (stream, line) => {
          p.log?.line(line);
          write({ id: p.id, name: p.name, stream, line, source: 'process' });
        },
        unexpectedExit: (exit) => {
          if (stopping) return;
          if (p.supervisor) p.supervisor.exited(exit);
          else report(p, `exited unexpectedly (${describeExit(exit)})`);
        },
      },
    );
  const stopProcess = (p: ManagedProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> =>
    p.stop(signal, stopTimeoutMs);

  const killAllNow = (): void => processes.forEach((p) => p.signal('SIGKILL'));
  process.on('exit', killAllNow);

  const stopAll = async (): Promise<void> => {
    stopping = true;
    processes.forEach((p) => p.supervisor?.cancel());
    // The gateway first (it stops taking requests), then the subgraphs together.
    await Promise.all(processes.filter((p) => p.name === 'gateway').map((p) => stopProcess(p)));
    await Promise.all(processes.filter((p) => p.name !== 'gateway').map((p) => stopProcess(p)));
    process.removeListener('exit', killAllNow);
    await Promise.all(processes.map((p) => p.log?.close()));
  };

  const startAndWait = async (group: ManagedProcess[], signal: AbortSignal): Promise<void> => {
    group.forEach(spawnProcess);
    await Promise.all(group.map((p) => waitReady(p, readyTimeoutMs, signal)));
  };

  return {
    get stopping() {
      return stopping;
    },
    report,
    spawnProcess,
    stopProcess,
    stopAll,
    startAndWait,
  };
}

function outputWriter(output: OutputOption, width: number): (line: OutputLine) => void {
  if (typeof output === 'function') return output;
  switch (output) {
    case 'silent':
      return () => {};
    case 'raw':
      return ({ stream, line }) => process[stream].write(`${line}\n`);
    case 'prefix':
      return ({ id, stream, line }) => process[stream].write(`${id.padEnd(width)} | ${line}\n`);
  }
}
