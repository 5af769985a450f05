// Runs the system's processes: the six subgraphs, then the gateway, each as
// `node <entry>.ts` with its environment, its output prefixed with its name, and each waited for
// until its /health/ready answers 200. Used by `npm start`, the e2e and fault tests and the
// benchmarks: a process can be killed (SIGKILL mid-saga) and restarted on the same port.
//
// Children run in their own process group, so a Ctrl-C in the terminal reaches only the
// launcher, which stops the gateway first and the subgraphs after it, in order; if this
// process exits without stop(), an `exit` hook SIGKILLs whatever is still running.

import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  DEFAULT_PORTS,
  PROCESSES,
  REPO_ROOT,
  SUBGRAPH_URL_ENV,
  entryFile,
  isSubgraph,
  withHeapLimit,
  type ProcessName,
  type SubgraphName,
} from './services.ts';
import { generateServiceSecret } from '../../shared/auth/service-identity.ts';
import { ManagedProcess } from './managed-process.ts';
import { ProcessLog } from './process-logs.ts';
import { SystemStartError, waitReady } from './readiness.ts';
import { Supervisor, describeExit, type ExitInfo } from './supervisor.ts';
import { RestartPolicy, type SupervisionSettings } from './supervisor-policy.ts';

export type { ProcessName, SubgraphName } from './services.ts';
export type { ExitInfo } from './supervisor.ts';
export type { SupervisionSettings } from './supervisor-policy.ts';
export { SystemStartError } from './readiness.ts';

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

/** A free TCP port on host (the OS's choice, released again before it returns). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
  const nodePath = options.nodePath ?? defaultNodePath();
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const selected = PROCESSES.filter((name) => (options.processes ?? PROCESSES).includes(name));
  if (selected.length === 0) throw new Error('startSystem: no processes selected');
  const settings = supervisionSettings(options.supervise);

  for (const name of selected) {
    const file = path.join(cwd, entryFile(name));
    if (!existsSync(file))
      throw new SystemStartError(name, `cannot start: ${entryFile(name)} does not exist`, '');
  }

  const processes = await allocate(selected, options, host);
  const width = Math.max(...processes.map((p) => p.id.length));
  const write = outputWriter(options.output ?? 'prefix', width);
  if (options.logDir !== undefined) {
    const dir = options.logDir;
    await Promise.all(processes.map(async (p) => (p.log = await ProcessLog.open(dir, p.id))));
  }
  /** A line the launcher says about the process. */
  const report = (p: ManagedProcess, line: string): void => {
    p.log?.note(line);
    write({ id: p.id, name: p.name, stream: 'stderr', line, source: 'supervisor' });
  };

  const first = (name: ProcessName): ManagedProcess | undefined =>
    processes.find((p) => p.name === name && p.instance === 1);
  const { common, envOf } = environments(processes, options);

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

  const aborter = new AbortController();
  try {
    await startAndWait(
      processes.filter((p) => p.name !== 'gateway'),
      aborter.signal,
    );
    await startAndWait(
      processes.filter((p) => p.name === 'gateway'),
      aborter.signal,
    );
  } catch (error) {
    aborter.abort();
    await stopAll();
    throw error;
  }

  // Supervised from here on: a process that fails while the system starts fails the start.
  if (settings) {
    for (const p of processes) {
      p.supervisor = new Supervisor(settings, {
        start: () => {
          if (stopping) return;
          p.restarts += 1;
          spawnProcess(p);
        },
        waitReady: (signal) => waitReady(p, readyTimeoutMs, signal),
        running: () => p.running,
        report: (line) => report(p, line),
        logFile: p.log?.file,
      });
      p.supervisor.started();
    }
  }

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
      if (stopping) throw new Error(`cannot restart ${id}: the system is stopping`);
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

/** The environment every process shares, and each one's own on top of it. */
function environments(
  processes: readonly ManagedProcess[],
  options: StartSystemOptions,
): { common: Env; envOf: (p: ManagedProcess) => Env } {
  const base = mergeEnv(process.env, options.env);
  const users = processes.find((p) => p.name === 'users' && p.instance === 1);
  // Every process learns where the subgraphs are, every instance of each (comma-separated): the
  // gateway spreads its calls over them, and orders reads products it has not seen yet from the
  // products subgraph.
  const subgraphUrlEnv: Record<string, string> = {};
  for (const sub of processes) {
    if (!isSubgraph(sub.name)) continue;
    const variable = SUBGRAPH_URL_ENV[sub.name];
    subgraphUrlEnv[variable] = [subgraphUrlEnv[variable], sub.graphqlUrl].filter(Boolean).join(',');
  }
  const common = mergeEnv(base, {
    APOLLO_TELEMETRY_DISABLED: base.APOLLO_TELEMETRY_DISABLED ?? 'true',
    // Subgraphs take GraphQL only from services holding this secret (shared/auth/service-identity.ts):
    // a random one per system unless one is given, so it is enforced in development and tests too.
    SERVICE_SECRET: base.SERVICE_SECRET ?? generateServiceSecret(),
    ...(users ? { USERS_JWKS_URL: `${users.baseUrl}/.well-known/jwks.json` } : {}),
    ...subgraphUrlEnv,
  });
  const envOf = (p: ManagedProcess): Env => {
    const own: Record<string, string | undefined> = { PORT: String(p.port) };
    if (p.name === 'gateway' && options.supergraphPath) own.SUPERGRAPH_PATH = options.supergraphPath;
    const env = mergeEnv(common, own, options.processEnv?.[p.name]);
    return mergeEnv(env, { NODE_OPTIONS: withHeapLimit(env.NODE_OPTIONS, p.name) });
  };
  return { common, envOf };
}

async function allocate(
  selected: readonly ProcessName[],
  options: StartSystemOptions,
  host: string,
): Promise<ManagedProcess[]> {
  const ports = options.ports ?? 'fixed';
  const fixedPort = (name: ProcessName): number | undefined =>
    ports === 'free'
      ? undefined
      : ports === 'fixed'
        ? DEFAULT_PORTS[name]
        : (ports[name] ?? DEFAULT_PORTS[name]);
  // Fixed ports are reserved first, so no free port picked later can be one of them.
  const taken = new Set<number>();
  for (const name of selected) {
    const port = fixedPort(name);
    if (port === undefined) continue;
    if (taken.has(port)) throw new Error(`startSystem: port ${port} is given twice`);
    taken.add(port);
  }
  const probeHost = host === 'localhost' ? '127.0.0.1' : host;
  const pickFree = async (): Promise<number> => {
    for (;;) {
      const port = await freePort(probeHost);
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const result: ManagedProcess[] = [];
  for (const name of selected) {
    const count = options.instances?.[name] ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`startSystem: instances.${name} must be >= 1`);
    for (let instance = 1; instance <= count; instance += 1) {
      const port = (instance === 1 ? fixedPort(name) : undefined) ?? (await pickFree());
      result.push(new ManagedProcess(name, instance, port, host));
    }
  }
  return result;
}

function supervisionSettings(supervise: StartSystemOptions['supervise']): SupervisionSettings | undefined {
  if (supervise === undefined || supervise === false) return undefined;
  // Validated here, before anything is started.
  return new RestartPolicy(supervise === true ? {} : supervise).settings;
}

function mergeEnv(...layers: (Env | undefined)[]): Env {
  const merged: Record<string, string | undefined> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) delete merged[key];
      else merged[key] = value;
    }
  }
  return merged;
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
