// CPU time of a running system, read from Linux's /proc: every node process of the system, the
// PostgreSQL server (its own processes, and the backends of this system's databases) and
// the nats-server it uses. The difference of two samples divided by the orders confirmed in
// between is what an order costs, the figure the saga's goal is set on: it moves less between
// machines than latency does.
//
// What is left out, and why: backends of other databases (other systems sharing the server);
// processes that ended between the samples (their time is gone from /proc; counted, so the
// report can say so). A nats-server serves whoever connects: on a shared one, other clients'
// load is in its figure (BENCH_NATS=own gives the system one of its own).
import { readFile, readdir } from 'node:fs/promises';
import type { TestSystem } from '../../test/support/system.ts';
import { processCpuMs } from './process-cpu.ts';

/** What one process has used so far. */
interface ProcessCounters {
  readonly group: string;
  /** CPU seconds, user + system. */
  readonly seconds: number;
  /**
   * Write system calls (`syscw` of /proc/<pid>/io: write, writev, sendmsg ...): on loopback each
   * sends a message or statement on and wakes its receiver. Their count does not move between
   * machines; what one costs by itself, `npm run bench:hop` measures.
   */
  readonly writes: number;
  /**
   * Voluntary context switches of all its threads (/proc/<pid>/task/<tid>/status): each is a
   * sleep that something arriving, or a timer, ended. Below high load each message or
   * statement reply wakes a process on its own, and on an idle machine the wake-up is much of
   * a hop's cost (`npm run bench:hop`); batches make fewer of them per order.
   */
  readonly wakeUps: number;
}

/** By pid: the group each pid counts toward, and what it has used so far. */
export type CpuSample = ReadonlyMap<number, ProcessCounters>;

/** Other databases' backends: not part of the system, reported as an aside. */
const OTHER = 'other';

async function cpuOf(pid: number | string): Promise<number> {
  return ((await processCpuMs(Number(pid))) ?? 0) / 1000;
}

/** Write system calls made so far by `pid` (0 if /proc/<pid>/io cannot be read). */
async function writesOf(pid: number | string): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
  return Number(/^syscw: (\d+)$/m.exec(io)?.[1] ?? 0);
}

/** Voluntary context switches so far of every thread of `pid` (0 if /proc cannot be read). */
async function wakeUpsOf(pid: number | string): Promise<number> {
  const threads = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  let switches = 0;
  for (const tid of threads) {
    const status = await readFile(`/proc/${pid}/task/${tid}/status`, 'utf8').catch(() => '');
    switches += Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1] ?? 0);
  }
  return switches;
}

async function countersOf(pid: number | string, group: string): Promise<ProcessCounters> {
  return { group, seconds: await cpuOf(pid), writes: await writesOf(pid), wakeUps: await wakeUpsOf(pid) };
}

/** `postgres: [cluster: ]user database host(port) state`: a client backend and its database. */
const BACKEND = /^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/;

/** Which group a process counts toward, or `other` for another system's backend, or none. */
function groupOf(cmdline: string, system: TestSystem): string | undefined {
  if (cmdline.includes('nats-server')) {
    // The one the system uses: its port is on the command line (`-p 4222`).
    return ` ${cmdline} `.includes(` ${new URL(system.natsUrl).port || '4222'} `) ? 'nats' : undefined;
  }
  const databasePrefix = system.id;
  const backend = BACKEND.exec(cmdline);
  if (backend) {
    const database = backend[1]!;
    return database.startsWith(`${databasePrefix}_`)
      ? `pg:${database.slice(databasePrefix.length + 1)}`
      : OTHER;
  }
  // The postmaster and its helpers (WAL writer, checkpointer, autovacuum ...): work the
  // system's commits cause, shared with whatever else the server serves.
  if (cmdline.startsWith('postgres:') || /\/postgres(\s|$)/.test(cmdline.split(' ')[0] ?? '')) {
    return 'pg:server';
  }
  return undefined;
}

export async function sampleCpu(system: TestSystem): Promise<CpuSample> {
  const seconds = new Map<number, ProcessCounters>();
  const nodePids = new Set<number>();
  for (const p of system.processes) {
    if (!p.pid) continue;
    nodePids.add(p.pid);
    seconds.set(p.pid, await countersOf(p.pid, p.id));
  }
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry) || nodePids.has(Number(entry))) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    const group = groupOf(cmdline.trim(), system);
    if (group) seconds.set(Number(entry), await countersOf(entry, group));
  }
  return seconds;
}

export interface CpuUsage {
  /** CPU seconds used between the samples, by group: process id, `pg:<database>`, `pg:server`, `nats`. */
  readonly byGroup: Readonly<Record<string, number>>;
  readonly total: number;
  /** Write system calls made between the samples, by group (the groups of `byGroup`). */
  readonly writesByGroup: Readonly<Record<string, number>>;
  /** Voluntary context switches between the samples, by group. */
  readonly wakeUpsByGroup: Readonly<Record<string, number>>;
  /** Processes of the system that ended between the samples: their last CPU time is missing. */
  readonly ended: number;
  readonly otherBackends: number;
}

/** What was used between two samples (a process that started meanwhile counts from zero). */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuUsage {
  const byGroup: Record<string, number> = {};
  const writesByGroup: Record<string, number> = {};
  const wakeUpsByGroup: Record<string, number> = {};
  const add = (into: Record<string, number>, group: string, amount: number) =>
    (into[group] = (into[group] ?? 0) + Math.max(0, amount));
  let total = 0;
  let otherBackends = 0;
  for (const [pid, now] of after) {
    const then = before.get(pid);
    const used = Math.max(0, now.seconds - (then?.seconds ?? 0));
    if (now.group === OTHER) {
      otherBackends += used;
      continue;
    }
    add(byGroup, now.group, used);
    add(writesByGroup, now.group, now.writes - (then?.writes ?? 0));
    add(wakeUpsByGroup, now.group, now.wakeUps - (then?.wakeUps ?? 0));
    total += used;
  }
  const ended = [...before].filter(([pid, { group }]) => group !== OTHER && !after.has(pid)).length;
  return { byGroup, total, writesByGroup, wakeUpsByGroup, ended, otherBackends };
}
