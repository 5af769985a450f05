// A fuzz run: start the system, send a warm-up pass, take each process's heap after GC as the
// baseline, send the main pass, compare heaps, check the system still works, stop it. Probes
// go out `concurrency` at a time, each with a timeout; a process that exits is recorded and
// started again so the rest of the run still means something.
import http from 'node:http';
import type { HeapReport } from '../../shared/http/diagnostics.ts';
import { checkOutcome, VIOLATION_CLASSES, type ViolationClass } from './checks.ts';
import { generateProbe } from './generator.ts';
import { describeProbe, type Outcome, type Probe } from './probe.ts';
import { sendHttp } from './send-http.ts';
import { sendWithFollowUp } from './send-keep-alive.ts';
import { sendWs } from './send-ws.ts';
import { checkHealthy, readHeaps, startFuzzSystem, type FuzzSystem } from './system.ts';

export interface FuzzOptions {
  readonly seed: number;
  readonly count: number;
  /** Probes of the warm-up pass (another stream of the same generator); 0 skips it. */
  readonly warmup: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Compare heaps after GC (baseline after the warm-up, again after the main pass). */
  readonly heap: boolean;
  /** Allowed heap growth over the baseline, as a fraction (0.1 = 10 %). */
  readonly heapTolerance: number;
  /** Send only these probe indexes of the main pass (to replay findings). */
  readonly only?: readonly number[];
  readonly log: (line: string) => void;
}

export interface Finding {
  readonly index: number;
  readonly family: string;
  readonly cls: ViolationClass;
  readonly detail: string;
  readonly status?: number;
  readonly request: string;
}

export interface SlowAnswer {
  readonly index: number;
  readonly family: string;
  readonly ms: number;
  readonly request: string;
}

export interface HeapRow {
  readonly process: string;
  readonly baseline: HeapReport;
  readonly after: HeapReport;
  readonly growth: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly sent: number;
  readonly warmupSent: number;
  /**
   * Violations of the warm-up pass, by class. A document seen before can take another path
   * (cached parse and validation), so the warm-up finds things the main pass does not.
   */
  readonly warmupCounts: Readonly<Record<ViolationClass, number>>;
  /** The warm-up's findings (replay one with `--seed <warmupSeed> --only <index>`). */
  readonly warmupFindings: readonly Finding[];
  readonly warmupSeed: number;
  readonly durationMs: number;
  readonly families: Readonly<Record<string, number>>;
  readonly statuses: Readonly<Record<string, number>>;
  readonly findings: readonly Finding[];
  /** The slowest answers of the main pass that came within the timeout. */
  readonly slowest: readonly SlowAnswer[];
  readonly counts: Readonly<Record<ViolationClass, number>>;
  readonly heaps: readonly HeapRow[];
  readonly heapTolerance: number;
}

const SLOWEST = 8;
const familyRoot = (family: string) => family.split('+')[0]!;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  options.log(`starting the system (seed ${options.seed})`);
  const fuzz = await startFuzzSystem();
  try {
    const warmupSeed = (options.seed ^ 0x5bd1e995) >>> 0;
    let warmupSent = 0;
    const warmupCounts = zeroCounts();
    let warmupFindings: Finding[] = [];
    if (options.warmup > 0) {
      options.log(`warm-up: ${options.warmup} probes`);
      const warmup = await runPass(fuzz, warmupSeed, indexes(options.warmup), options);
      warmupSent = warmup.sent;
      for (const finding of warmup.findings) warmupCounts[finding.cls] += 1;
      warmupFindings = warmup.findings;
    }
    const baseline = options.heap ? await readHeaps(fuzz.system) : undefined;
    const exitsBefore = fuzz.exits.length;
    options.log(`main run: ${options.only?.length ?? options.count} probes`);
    const main = await runPass(fuzz, options.seed, options.only ?? indexes(options.count), options);
    for (const exit of fuzz.exits.slice(exitsBefore)) {
      main.findings.push({ index: -1, family: '-', cls: 'process-exit', detail: exit, request: '-' });
    }
    const heaps: HeapRow[] = [];
    if (baseline) {
      for (const [id, after] of await readHeaps(fuzz.system)) {
        const base = baseline.get(id);
        if (!base) continue;
        const growth = (after.heapUsed - base.heapUsed) / base.heapUsed;
        heaps.push({ process: id, baseline: base, after, growth });
        if (growth > options.heapTolerance) {
          const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
          main.findings.push({
            index: -1,
            family: '-',
            cls: 'heap-growth',
            detail: `${id}: ${mb(base.heapUsed)} → ${mb(after.heapUsed)} (+${(growth * 100).toFixed(1)} %)`,
            request: '-',
          });
        }
      }
    }
    options.log('checking that the system still works');
    const unhealthy = await checkHealthy(fuzz);
    if (unhealthy)
      main.findings.push({ index: -1, family: '-', cls: 'unhealthy-after', detail: unhealthy, request: '-' });
    const counts = zeroCounts();
    for (const finding of main.findings) counts[finding.cls] += 1;
    return {
      seed: options.seed,
      sent: main.sent,
      warmupSent,
      warmupCounts,
      warmupFindings,
      warmupSeed,
      durationMs: Math.round(performance.now() - started),
      families: main.families,
      statuses: main.statuses,
      findings: main.findings,
      slowest: main.slowest,
      counts,
      heaps,
      heapTolerance: options.heapTolerance,
    };
  } finally {
    await fuzz.system.dispose();
  }
}

function zeroCounts(): Record<ViolationClass, number> {
  return Object.fromEntries(VIOLATION_CLASSES.map((c) => [c, 0])) as Record<ViolationClass, number>;
}

function indexes(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

interface PassResult {
  sent: number;
  families: Record<string, number>;
  statuses: Record<string, number>;
  findings: Finding[];
  slowest: SlowAnswer[];
}

async function runPass(
  fuzz: FuzzSystem,
  seed: number,
  list: readonly number[],
  options: FuzzOptions,
): Promise<PassResult> {
  const result: PassResult = { sent: 0, families: {}, statuses: {}, findings: [], slowest: [] };
  let next = 0;
  let restarting: Promise<void> | undefined;
  const reviveExited = async () => {
    const dead = fuzz.system.processes.filter((p) => !p.running);
    if (dead.length === 0) return;
    restarting ??= (async () => {
      for (const p of dead) {
        options.log(`${p.id} exited (${JSON.stringify(p.lastExit)}); starting it again`);
        await fuzz.system.restart(p.id);
      }
    })().finally(() => (restarting = undefined));
    await restarting;
  };

  const lane = async () => {
    let agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (;;) {
        const position = next++;
        if (position >= list.length) return;
        await reviveExited();
        const index = list[position]!;
        const probe = generateProbe(seed, index, fuzz.world);
        const outcome = await send(fuzz, probe, agent, options.timeoutMs);
        // A connection the probe left in a doubtful state is not reused by the next probe.
        if (outcome.hung || outcome.dropped || outcome.status === 413 || outcome.status === undefined) {
          agent.destroy();
          agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        }
        record(result, index, probe, outcome);
        if (result.sent % 1000 === 0)
          options.log(`  ${result.sent}/${list.length} sent, ${result.findings.length} violations`);
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return result;
}

async function send(fuzz: FuzzSystem, probe: Probe, agent: http.Agent, timeoutMs: number): Promise<Outcome> {
  const authorization = fuzz.tokens[probe.auth];
  if (probe.transport === 'ws')
    return sendWs(probe, { url: fuzz.system.urls.gatewayWs!, timeoutMs, authorization });
  const baseUrl = fuzz.system.process(probe.target).baseUrl;
  if (probe.followUp) return sendWithFollowUp(probe, baseUrl, timeoutMs, authorization);
  return sendHttp(probe, { baseUrl, agent, timeoutMs, authorization });
}

function record(result: PassResult, index: number, probe: Probe, outcome: Outcome): void {
  result.sent += 1;
  const family = familyRoot(probe.family);
  result.families[family] = (result.families[family] ?? 0) + 1;
  const status = outcome.unsent
    ? 'unsent'
    : outcome.wsClose
      ? `ws ${outcome.wsClose.code}`
      : outcome.hung
        ? 'hung'
        : outcome.dropped
          ? 'dropped'
          : String(outcome.status ?? '-');
  result.statuses[status] = (result.statuses[status] ?? 0) + 1;
  if (
    !outcome.hung &&
    !outcome.followUp?.hung &&
    (result.slowest.length < SLOWEST || outcome.ms > result.slowest[SLOWEST - 1]!.ms)
  ) {
    result.slowest.push({ index, family: probe.family, ms: outcome.ms, request: describeProbe(probe, 120) });
    result.slowest.sort((a, b) => b.ms - a.ms).splice(SLOWEST);
  }
  for (const violation of checkOutcome(probe, outcome)) {
    result.findings.push({
      index,
      family: probe.family,
      cls: violation.cls,
      detail: violation.detail,
      status: outcome.status,
      request: describeProbe(probe),
    });
  }
}
