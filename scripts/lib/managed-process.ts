// One process of the system as the launcher holds it: its name, port and URLs, the child
// process of its current run (spawned in a process group of its own), its recent output and
// how it last exited. Spawned again on the same port after a kill or a crash.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { entryFile, type ProcessName } from './services.ts';
import type { ProcessLog } from './process-logs.ts';
import type { ExitInfo, Supervisor } from './supervisor.ts';

const OUTPUT_LINES = 100;

export interface SpawnSpec {
  readonly nodePath: string;
  /** Node's own flags before the entry file (e.g. `--expose-gc`). */
  readonly nodeArgs: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface RunHooks {
  /** Each line the process prints. */
  line(stream: 'stdout' | 'stderr', line: string): void;
  /** It exited while nobody was stopping it. */
  unexpectedExit(exit: ExitInfo): void;
}

export class ManagedProcess {
  readonly id: string;
  readonly name: ProcessName;
  readonly instance: number;
  readonly port: number;
  readonly baseUrl: string;
  readonly graphqlUrl: string;
  restarts = 0;
  lastExit: ExitInfo | undefined;
  exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  supervisor: Supervisor | undefined;
  log: ProcessLog | undefined;
  private child: ChildProcess | undefined;
  /** Set while this process is being stopped on purpose, so its exit is not reported. */
  private expectingExit = false;
  private readonly lines: string[] = [];

  constructor(name: ProcessName, instance: number, port: number, host: string) {
    this.name = name;
    this.instance = instance;
    this.id = instance === 1 ? name : `${name}#${instance}`;
    this.port = port;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.graphqlUrl = `${this.baseUrl}/graphql`;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  recentOutput(): string {
    return this.lines.join('\n');
  }

  /** Starts a run: `node <entry>.ts` with `spec.env`, its output and its end handed to `hooks`. */
  spawn(spec: SpawnSpec, hooks: RunHooks): void {
    const child = spawn(spec.nodePath, [...spec.nodeArgs, entryFile(this.name)], {
      cwd: spec.cwd,
      env: spec.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    this.expectingExit = false;
    this.lastExit = undefined;
    this.supervisor?.started();
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream], crlfDelay: Infinity }).on('line', (line) => {
        this.remember(line);
        hooks.line(stream, line);
      });
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      // 'close' comes after the output streams are drained, so recentOutput() is complete.
      child.once('close', (code, signal) => {
        const exit = { code, signal };
        this.lastExit = exit;
        resolve(exit);
        if (!this.expectingExit) hooks.unexpectedExit(exit);
      });
      child.once('error', (error) => {
        this.remember(`could not start: ${error.message}`);
        const exit = { code: null, signal: null };
        this.lastExit = exit;
        resolve(exit);
      });
    });
  }

  /** Sends `signal`, then SIGKILL after `graceMs`, and waits for the exit; not reported as unexpected. */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<ExitInfo> {
    if (!this.running) return this.lastExit ?? { code: null, signal: null };
    this.expectingExit = true;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signals the whole process group (the child and anything it started). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!this.running || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      this.child?.kill(signal);
    }
  }

  private remember(line: string): void {
    this.lines.push(line);
    if (this.lines.length > OUTPUT_LINES) this.lines.shift();
  }
}
