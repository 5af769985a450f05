// Runs the system's processes: the six subgraphs and the gateway, all started together, each as
// `node <entry>.ts` with its environment, its output prefixed with its name, and each waited for
// until its /health/ready answers 200. Used by `npm start`, the e2e and fault tests and the
// benchmarks: a process can be killed (SIGKILL mid-saga) and restarted on the same port.
//
// Children run in their own process group, so a Ctrl-C in the terminal reaches only the
// launcher, which stops the gateway first and the subgraphs after it, in order; if this
// process exits without stop(), an `exit` hook SIGKILLs whatever is still running.

import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  PROCESSES,
  REPO_ROOT,
  entryFile,
  isSubgraph,
  type ProcessName,
  type SubgraphName,
} from './services.ts';
import type { ManagedProcess } from './managed-process.ts';
import { ProcessLog } from './process-logs.ts';
import { SystemStartError, waitReady } from './readiness.ts';
import { Supervisor, type ExitInfo } from './supervisor.ts';
import { RestartPolicy, type SupervisionSettings } from './supervisor-policy.ts';
import { createProcessControl, type ProcessControl } from './process-control.ts';
import { environments } from './process-env.ts';
import { allocate } from './ports.ts';

export type { ProcessName, SubgraphName } from './services.ts';
export type { ExitInfo } from './supervisor.ts';
export type { SupervisionSettings } from './supervisor-policy.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * `'fixed'`: the default ports (4000-4006); `'free'`: ports the OS has free now; a map: those
 * ports for the named processes' first instance, the defaults for the others. Extra instances
 * (`instances`) always get free ports.
 */
export type PortsOption = 'fixed' | 'free' | Partial<Record<ProcessName, number>>;

export interface OutputLine {
  /** `inventory`, or `inventory#2` for a second instance */
  readonly id: string;
  readonly name: ProcessName;
  readonly stream: 'stdout' | 'stderr';
  readonly line: string;
  /** `process`: the process printed it; `supervisor`: the launcher says it about the process. */
  readonly source: 'process' | 'supervisor';
}

/**
 * `'prefix'`: each line as `id | line` on this process's stdout/stderr (the default);
 * `'raw'`: lines passed through unchanged (JSON logs stay parseable); `'silent'`: kept only for
 * error messages and `recentOutput()`; a function: every line handed to it.
 */
export type OutputOption = 'prefix' | 'raw' | 'silent' | ((line: OutputLine) => void);

export interface StartSystemOptions {
  /** Which processes to run (default all six). The gateway, if listed, starts last. */
  readonly processes?: readonly ProcessName[];
  readonly ports?: PortsOption;
  /** How many instances of a process to run (default 1), e.g. `{ inventory: 2 }`. */
  readonly instances?: Partial<Record<ProcessName, number>>;
  /** Variables for every process, over this process's environment (`undefined` removes one). */
  readonly env?: Env;
  /** Variables for one kind of process, over everything else. */
  readonly processEnv?: Partial<Record<ProcessName, Env>>;
  /** The gateway's SUPERGRAPH_PATH (default: the gateway's own default). */
  readonly supergraphPath?: string;
  readonly output?: OutputOption;
  /**
   * Restart a process that exits when nobody asked it to, with growing delays, until it crashes
   * in a loop (scripts/lib/supervisor-policy.ts): `true` for the default settings, or settings.
   * Default off: a test that crashes a process should find it down, not quietly replaced.
   * kill() and stop() are never undone by it.
   */
  readonly supervise?: boolean | Partial<SupervisionSettings>;
  /** Each process's output also goes to `<logDir>/<id>.log` (emptied at start). */
  readonly logDir?: string;
  /** Host the URLs name and readiness is probed on (default 127.0.0.1). */
  readonly host?: string;
  /** Per process, until /health/ready answers 200 (default 60 s). */
  readonly readyTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL when stopping (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** The Node binary (default: this one if it is Node >= 24, else node_modules/.bin/node). */
  readonly nodePath?: string;
  /** Node options placed before each entry file, e.g. `['--expose-gc']`. */
  readonly nodeArgs?: readonly string[];
  readonly cwd?: string;
}

export interface SystemProcess {
  readonly id: string;
  readonly name: ProcessName;
  /** 1 for the first instance, 2 for `<name>#2` ... */
  readonly instance: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>/graphql` */
  readonly graphqlUrl: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** How often restart() or the supervisor started it again. */
  readonly restarts: number;
  /** How it last exited, while it is not running. */
  readonly lastExit: ExitInfo | undefined;
  /** The last lines it printed (up to 100). */
  recentOutput(): string;
}

export interface SystemUrls {
  /** The gateway's `http://host:port/graphql` (when the gateway runs). */
  readonly gateway: string | undefined;
  /** The gateway's `ws://host:port/graphql`. */
  readonly gatewayWs: string | undefined;
  /** Each running subgraph's first instance, `http://host:port/graphql`. */
  readonly subgraphs: Readonly<Partial<Record<SubgraphName, string>>>;
}

export interface RunningSystem extends AsyncDisposable {
  readonly urls: SystemUrls;
  readonly processes: readonly SystemProcess[];
  /** The environment every process got (before per-process variables). */
  readonly env: Env;
  /** A process by id (`orders`, `inventory#2`); throws for an unknown id. */
  process(id: string): SystemProcess;
  /** Sends `signal` (default SIGKILL) to the process and waits for it to exit; it stays down
   *  (the supervisor does not restart it) until restart(). */
  kill(id: string, signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Stops the process if it runs (SIGTERM, then SIGKILL), starts it again on the same port
   *  with the same environment and waits until it is ready; the supervisor forgets its crashes. */
  restart(id: string): Promise<void>;
  /** Stops every process (gateway first), SIGKILL after the grace period; idempotent. */
  stop(): Promise<void>;
}

/** Node >= 24 runs the .ts entries directly; under an older node, use the repository's own. */
export function defaultNodePath(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return process.execPath;
  const local = path.join(REPO_ROOT, 'node_modules', '.bin', 'node');
  return existsSync(local) ? local : process.execPath;
}

export async function startSystem(options: StartSystemOptions = {}): Promise<RunningSystem> {
  const host = options.host ?? '127.0.0.1';
  const cwd = options.cwd ?? REPO_ROOT;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const selected = PROCESSES.filter((name) => (options.processes ?? PROCESSES).includes(name));
  if (selected.length === 0) throw new Error('startSystem: no processes selected');
  const settings = supervisionSettings(options.supervise);

  for (const name of selected) {
    const file = path.join(cwd, entryFile(name));
    if (!existsSync(file))
      throw new SystemStartError(name, `cannot start: ${entryFile(name)} does not exist`, '');
  }

  const processes = await allocate(selected, options, host);
  if (options.logDir !== undefined) {
    const dir = options.logDir;
    await Promise.all(processes.map(async (p) => (p.log = await ProcessLog.open(dir, p.id))));
  }
  const { common, envOf } = environments(processes, options);
  const control = createProcessControl(processes, options, {
    cwd,
    nodePath: options.nodePath ?? defaultNodePath(),
    readyTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    envOf,
  });

  const aborter = new AbortController();
  try {
    // All at once: the gateway needs no subgraph to start (its supergraph is a file, the token
    // keys are fetched when first needed), and booting it beside them saves its boot time.
    await control.startAndWait(processes, aborter.signal);
  } catch (error) {
    aborter.abort();
    await control.stopAll();
    throw error;
  }

  // Supervised from here on: a process that fails while the system starts fails the start.
  if (settings) supervise(processes, settings, control, readyTimeoutMs);
  return runningSystem(processes, common, control);
}

/** Gives each process a supervisor that restarts it when it exits unasked. */
function supervise(
  processes: readonly ManagedProcess[],
  settings: SupervisionSettings,
  control: ProcessControl,
  readyTimeoutMs: number,
): void {
  for (const p of processes) {
    p.supervisor = new Supervisor(settings, {
      start: () => {
        if (control.stopping) return;
        p.restarts += 1;
        control.spawnProcess(p);
      },
      waitReady: (signal) => waitReady(p, readyTimeoutMs, signal),
      running: () => p.running,
      report: (line) => control.report(p, line),
      logFile: p.log?.file,
    });
    p.supervisor.started();
  }
}

/** The started system as its user sees it: URLs, processes, kill, restart, stop. */
function runningSystem(processes: ManagedProcess[], common: Env, control: ProcessControl): RunningSystem {
  const { stopProcess, stopAll, startAndWait } = control;
  const first = (name: ProcessName): ManagedProcess | undefined =>
    processes.find((p) => p.name === name && p.instance === 1);
  const byId = (id: string): ManagedProcess => {
    const found = processes.find((p) => p.id === id);
    if (!found) throw new Error(`no process "${id}"; there are: ${processes.map((p) => p.id).join(', ')}`);
    return found;
  };
  const gateway = first('gateway');
  const subgraphUrls: Partial<Record<SubgraphName, string>> = {};
  for (const p of processes) if (isSubgraph(p.name) && p.instance === 1) subgraphUrls[p.name] = p.graphqlUrl;

  const system: RunningSystem = {
    urls: {
      gateway: gateway?.graphqlUrl,
      gatewayWs: gateway ? gateway.graphqlUrl.replace(/^http/, 'ws') : undefined,
      subgraphs: subgraphUrls,
    },
    processes,
    env: common,
    process: byId,
    kill: (id, signal = 'SIGKILL') => {
      const p = byId(id);
      p.supervisor?.cancel();
      return stopProcess(p, signal);
    },
    restart: async (id) => {
      const p = byId(id);
      if (control.stopping) throw new Error(`cannot restart ${id}: the system is stopping`);
      p.supervisor?.reset();
      await stopProcess(p);
      p.restarts += 1;
      try {
        await startAndWait([p], new AbortController().signal);
      } catch (error) {
        await stopProcess(p);
        throw error;
      }
    },
    stop: stopAll,
    [Symbol.asyncDispose]: stopAll,
  };
  return system;
}

function supervisionSettings(supervise: StartSystemOptions['supervise']): SupervisionSettings | undefined {
  if (supervise === undefined || supervise === false) return undefined;
  // Validated here, before anything is started.
  return new RestartPolicy(supervise === true ? {} : supervise).settings;
}
