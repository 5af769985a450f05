// The saga under a fixed arrival rate: `npm run bench:saga [-- 50:20 150:20 200:20]`.
//
// Starts the whole system on free ports (its own databases and NATS namespace on the
// PostgreSQL and NATS at DATABASE_URL / NATS_URL, as the tests do), creates products with ample
// stock and a pool of customers (each logs in once: argon2 stays off the hot path), then for each
// phase `rate:seconds` places orders open-loop, each at its scheduled time whatever the earlier
// ones are doing, and measures from the start of each placeOrder request to its CONFIRMED status
// event on NATS (`<ns>.orders.evt.status.>`, the subject the gateway's subscriptions read).
// Prints one row per phase; stops everything it started. Figures, never pass/fail.
import { performance } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import path from 'node:path';
import { PROCESSES, REPO_ROOT } from '../scripts/lib/services.ts';
import { natsAdminOptions } from '../test/support/system.ts';
import { Client } from '../e2e/support/client.ts';
import { markdown, percentile } from './lib/report.ts';
import { sleep, startBenchSystem, type BenchSystem } from './lib/system.ts';
import { cpuBetween, sampleCpu, type CpuUsage } from './lib/cpu.ts';
import {
  openShop,
  parsePhase,
  parsePhases,
  placeOrdersOpenLoop,
  type Phase,
  type Shop,
} from './lib/open-loop.ts';
import { pgActivityBetween, samplePgActivity } from './lib/pg-activity.ts';
import { natsTrafficPer, sampleNatsTraffic } from './lib/nats-traffic.ts';
import {
  pgStatementsBetween,
  pgStatementsSupport,
  samplePgStatements,
  statementRows,
  type PgStatementsSupport,
  type StatementCounters,
} from './lib/pg-statements.ts';

interface PhaseResult {
  readonly phase: Phase;
  readonly placed: number;
  readonly errors: number;
  readonly confirmed: number;
  readonly cancelled: number;
  /** Orders sent per second over the phase. */
  readonly sentRate: number;
  /** Confirmations per second, from the first order to the last confirmation. */
  readonly confirmedRate: number;
  /** How long after the last order was sent the last confirmation came. */
  readonly drainMs: number;
  readonly latency: { p50: number; p95: number; p99: number; max: number };
  readonly placeLatency: { p50: number; p99: number };
  /** p50/p99 of each hop of the confirmed orders, from the status events' arrival here. */
  readonly steps: Record<string, { p50: number; p99: number }>;
}

/** The hops of a confirmed order, each ending when that status event arrives here. */
const STEPS = ['PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED', 'CONFIRMED'] as const;

const DEFAULT_PHASES = ['50:20', '150:20', '200:20'];
/**
 * Before the measured phases, orders are placed at this rate (`BENCH_WARM_UP=rate:seconds`) so
 * that the figures are the steady state: per order, latency kept falling for about 20 s after
 * start (V8 optimizing the hot paths, each pool connection preparing its statements), and a
 * 5 s warm-up left those first slow seconds in the 50/s phase's p99.
 */
const WARM_UP: Phase = parsePhase(process.env.BENCH_WARM_UP ?? '50:20');
const PRODUCTS = 20;
const CUSTOMERS = 100;
/** After the last order of a phase, how long confirmations may take before the rest count as lost. */
const DRAIN_LIMIT_MS = 15_000;

class Tracker {
  /** When each order's request started, by order id (set once the response names it). */
  readonly requestStart = new Map<string, number>();
  /** Final events that came before the response that names their order. */
  private readonly early = new Map<string, { status: string; at: number }>();
  /** The first final event of each order, with its latency from the request's start. */
  readonly done = new Map<string, { status: string; latencyMs: number; at: number }>();
  /** When each status event of an order arrived. */
  readonly seen = new Map<string, Map<string, number>>();

  event(id: string, status: string, at: number): void {
    const statuses = this.seen.get(id) ?? new Map<string, number>();
    statuses.set(status, at);
    this.seen.set(id, statuses);
    if ((status === 'CONFIRMED' || status === 'CANCELLED') && !this.done.has(id))
      this.settled(id, status, at);
  }

  started(id: string, at: number): void {
    this.requestStart.set(id, at);
    const event = this.early.get(id);
    if (event) {
      this.early.delete(id);
      this.done.set(id, { status: event.status, latencyMs: event.at - at, at: event.at });
    }
  }

  private settled(id: string, status: string, at: number): void {
    const start = this.requestStart.get(id);
    if (start === undefined) this.early.set(id, { status, at });
    else this.done.set(id, { status, latencyMs: at - start, at });
  }
}

async function runPhase(phase: Phase, shop: Shop, tracker: Tracker): Promise<PhaseResult> {
  const ids: string[] = [];
  const placeLatencies: number[] = [];
  let errors = 0;
  let firstError = '';
  const { total, begin, sentAt } = await placeOrdersOpenLoop(phase, shop, (placed, start) =>
    placed
      .then((response) => {
        const id = response.data?.placeOrder.id;
        if (!id) throw new Error(JSON.stringify(response.errors));
        placeLatencies.push(performance.now() - start);
        ids.push(id);
        tracker.started(id, start);
      })
      .catch((err: unknown) => {
        errors += 1;
        firstError ||= String(err);
      }),
  );
  if (firstError) console.error(`  first error: ${firstError.slice(0, 300)}`);

  const deadline = performance.now() + DRAIN_LIMIT_MS;
  while (ids.some((id) => !tracker.done.has(id)) && performance.now() < deadline) await sleep(20);

  const results = ids.flatMap((id) => {
    const done = tracker.done.get(id);
    return done ? [done] : [];
  });
  const confirmed = results.filter((r) => r.status === 'CONFIRMED');
  const latencies = confirmed.map((r) => r.latencyMs).sort((a, b) => a - b);
  const lastAt = Math.max(...results.map((r) => r.at), sentAt);
  placeLatencies.sort((a, b) => a - b);
  const steps: Record<string, { p50: number; p99: number }> = {};
  STEPS.forEach((step, i) => {
    const hops = ids
      .filter((id) => tracker.done.get(id)?.status === 'CONFIRMED')
      .map((id) => {
        const seen = tracker.seen.get(id)!;
        const from = i === 0 ? tracker.requestStart.get(id) : seen.get(STEPS[i - 1]!);
        const to = seen.get(step);
        return from === undefined || to === undefined ? NaN : to - from;
      })
      .filter((v) => !Number.isNaN(v))
      .sort((a, b) => a - b);
    steps[step] = { p50: percentile(hops, 50), p99: percentile(hops, 99) };
  });
  return {
    steps,
    phase,
    placed: ids.length,
    errors,
    confirmed: confirmed.length,
    cancelled: results.length - confirmed.length,
    sentRate: total / ((sentAt - begin) / 1000 || 1),
    confirmedRate: confirmed.length / ((lastAt - begin) / 1000),
    drainMs: lastAt - sentAt,
    latency: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? NaN,
    },
    placeLatency: { p50: percentile(placeLatencies, 50), p99: percentile(placeLatencies, 99) },
  };
}

function table(results: readonly PhaseResult[]): string {
  const ms = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(0));
  const head = [
    'target/s',
    'secs',
    'placed',
    'errors',
    'confirmed',
    'lost',
    'sent/s',
    'confirmed/s',
    'drain ms',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'max ms',
    'place p50',
    'place p99',
  ];
  const rows = results.map((r) => [
    String(r.phase.rate),
    String(r.phase.seconds),
    String(r.placed),
    String(r.errors),
    String(r.confirmed),
    String(r.placed - r.confirmed - r.cancelled),
    r.sentRate.toFixed(1),
    r.confirmedRate.toFixed(1),
    ms(r.drainMs),
    ms(r.latency.p50),
    ms(r.latency.p95),
    ms(r.latency.p99),
    ms(r.latency.max),
    ms(r.placeLatency.p50),
    ms(r.placeLatency.p99),
  ]);
  return markdown(head, rows);
}

/** Where the time of a confirmed order goes: each hop ends when that status event arrives. */
function stepTable(results: readonly PhaseResult[]): string {
  const ms = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(0));
  const head = ['target/s', ...STEPS.flatMap((s) => [`-> ${s} p50`, 'p99'])];
  const rows = results.map((r) => [
    String(r.phase.rate),
    ...STEPS.flatMap((s) => [ms(r.steps[s]!.p50), ms(r.steps[s]!.p99)]),
  ]);
  return markdown(head, rows);
}

/**
 * The notifications subgraph and its database: not a step of the saga, so its share is shown on
 * its own and left out of the saga's total (its consumers' NATS traffic stays in `nats`).
 */
const NOTIFICATIONS_GROUPS: ReadonlySet<string> = new Set(['notifications', 'pg:notifications']);

function notificationsShare(usage: CpuUsage): number {
  return [...NOTIFICATIONS_GROUPS].reduce((sum, g) => sum + (usage.byGroup[g] ?? 0), 0);
}

/** A figure per confirmed order of a phase, one decimal. */
const perOrder = (amount: number, r: PhaseResult) => (amount / r.confirmed).toFixed(1);
const perOrderMs = (seconds: number, r: PhaseResult) => perOrder(seconds * 1000, r);

/** The saga's CPU: everything but the notifications subgraph's share. */
function sagaTotal(usage: CpuUsage): number {
  return usage.total - notificationsShare(usage);
}

/**
 * A figure by process per confirmed order, over each phase (from first order to last
 * confirmation): the saga's total, each process (PostgreSQL's last), and notifications' share
 * on its own, not in the total.
 */
function byProcessTable(
  results: readonly PhaseResult[],
  figures: readonly Readonly<Record<string, number>>[],
  per: (amount: number, r: PhaseResult) => string,
): string {
  const groups = [...new Set(figures.flatMap((f) => Object.keys(f)))]
    .filter((g) => !NOTIFICATIONS_GROUPS.has(g))
    .sort((a, b) => Number(a.startsWith('pg:')) - Number(b.startsWith('pg:')) || a.localeCompare(b));
  const sum = (f: Readonly<Record<string, number>>, of: Iterable<string>) =>
    [...of].reduce((total, g) => total + (f[g] ?? 0), 0);
  const rows = results.map((r, i) => [
    String(r.phase.rate),
    per(sum(figures[i]!, groups), r),
    ...groups.map((g) => per(figures[i]![g] ?? 0, r)),
    per(sum(figures[i]!, NOTIFICATIONS_GROUPS), r),
  ]);
  return markdown(['target/s', 'total', ...groups, 'notifications (not in total)'], rows);
}

/** PostgreSQL's time per statement and confirmed order, per phase (or why it was not measured). */
function printStatements(
  results: readonly PhaseResult[],
  statements: readonly StatementCounters[][],
  support: PgStatementsSupport,
): void {
  if (!support.available) {
    console.log(`PostgreSQL per statement: not measured (${support.reason})`);
    return;
  }
  const { planning } = support;
  results.forEach((r, i) => {
    const rows = statementRows(statements[i]!, Math.max(1, r.confirmed));
    console.log(
      `\nPostgreSQL per statement and confirmed order at ${r.phase.rate}/s (pg_stat_statements; execution is the server's wall time, waits for row locks included; each database's statements that took 3 % of its time or more)${planning ? '' : '; planning not timed (pg_stat_statements.track_planning is off)'}\n`,
    );
    console.log(
      markdown(
        ['database', 'statement', 'calls', 'execution µs', 'planning µs', 'planned', 'mean µs'],
        rows.map((s) => [
          s.database,
          s.statement,
          s.callsPer.toFixed(2),
          s.execUsPer.toFixed(0),
          planning ? s.planUsPer.toFixed(0) : '-',
          planning ? `${Math.round(s.plannedShare * 100)} %` : '-',
          s.meanExecUs.toFixed(0),
        ]),
      ),
    );
  });
}

async function main(): Promise<void> {
  const phases = parsePhases(process.argv.slice(2), DEFAULT_PHASES);
  console.log('starting the system ...');
  let system: BenchSystem | undefined;
  const stop = () => void system?.dispose().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    // BENCH_CPU_PROFILE=orders,gateway writes V8 CPU profiles of those processes (on exit) to .cache/bench-profiles.
    const profiled = (process.env.BENCH_CPU_PROFILE ?? '').split(',').filter(Boolean);
    // BENCH_WITHOUT_NOTIFICATIONS=1 leaves the notifications subgraph out (it is not a step of the
    // saga): what it costs the others (the nats-server's deliveries to it, its share of the cores)
    // is then the difference from a run with it.
    const withoutNotifications = process.env.BENCH_WITHOUT_NOTIFICATIONS === '1';
    system = await startBenchSystem({
      processes: withoutNotifications ? PROCESSES.filter((p) => p !== 'notifications') : undefined,
      processEnv: Object.fromEntries(
        profiled.map((name) => [
          name,
          { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.join(REPO_ROOT, '.cache', 'bench-profiles')}` },
        ]),
      ),
    });
    if (withoutNotifications)
      console.log('without the notifications subgraph (BENCH_WITHOUT_NOTIFICATIONS=1)');
    const client = new Client(system.urls.gateway!);
    const tracker = new Tracker();
    const nc = await connect(natsAdminOptions(system));
    const sub = nc.subscribe(`${system.id}.orders.evt.status.>`);
    void (async () => {
      for await (const msg of sub) {
        const event = msg.json<{ orderId: string; status: string }>();
        tracker.event(event.orderId, event.status, performance.now());
      }
    })();
    await nc.flush();

    const shop = await openShop(client, PRODUCTS, CUSTOMERS);
    console.log(
      `${PRODUCTS} products, ${CUSTOMERS} customers; warm-up ${WARM_UP.rate}/s for ${WARM_UP.seconds} s`,
    );
    await runPhase(WARM_UP, shop, tracker);

    const results: PhaseResult[] = [];
    const usage: CpuUsage[] = [];
    const pgRows: string[][] = [];
    const natsRows: string[] = [];
    // Where the server has pg_stat_statements loaded: PostgreSQL's time statement by statement.
    const statementsSupport = await pgStatementsSupport(system);
    const statements: StatementCounters[][] = [];
    for (const phase of phases) {
      console.log(`phase ${phase.rate} orders/s for ${phase.seconds} s ...`);
      const [before, pgBefore] = [await sampleCpu(system), await samplePgActivity(system)];
      const statementsBefore = statementsSupport.available ? await samplePgStatements(system) : undefined;
      const natsBefore = await sampleNatsTraffic(system.natsMonitorUrl);
      const result = await runPhase(phase, shop, tracker);
      results.push(result);
      usage.push(cpuBetween(before, await sampleCpu(system)));
      const nats = natsTrafficPer(
        natsBefore,
        await sampleNatsTraffic(system.natsMonitorUrl),
        result.confirmed,
      );
      if (nats) natsRows.push(`${nats.in.toFixed(1)} in, ${nats.out.toFixed(1)} out at ${phase.rate}/s`);
      await sleep(2000);
      const activity = pgActivityBetween(pgBefore, await samplePgActivity(system));
      if (statementsBefore) {
        statements.push(pgStatementsBetween(statementsBefore, await samplePgStatements(system)));
      }
      pgRows.push(
        Object.entries(activity)
          .filter(([, a]) => a.transactions > 0)
          .map(
            ([db, a]) =>
              `${db} ${perOrder(a.transactions, result)} tx / ${perOrder(a.rowsWritten, result)} rows`,
          ),
      );
    }
    console.log('\nplaceOrder -> CONFIRMED, open loop, every process on this machine\n');
    console.log(table(results));
    console.log('\nper hop, ms (request start -> PENDING event -> ... -> CONFIRMED event)\n');
    console.log(stepTable(results));
    console.log(
      '\nCPU ms per confirmed order, by process (pg:<database> = its backends, pg:server = the postmaster and its helpers; this bench client not included; the notifications subgraph and its database on their own, not in the total)\n',
    );
    console.log(
      byProcessTable(
        results,
        usage.map((u) => u.byGroup),
        perOrderMs,
      ),
    );
    console.log(
      '\nwrite system calls per confirmed order, by process (on loopback each one also runs the receiving side and wakes it; what that costs by itself: npm run bench:hop)\n',
    );
    console.log(
      byProcessTable(
        results,
        usage.map((u) => u.writesByGroup),
        perOrder,
      ),
    );
    console.log(
      '\nwake-ups per confirmed order, by process (voluntary context switches of all its threads: sleeps ended by a message, a reply or a timer; batches at higher rates make fewer)\n',
    );
    console.log(
      byProcessTable(
        results,
        usage.map((u) => u.wakeUpsByGroup),
        perOrder,
      ),
    );
    results.forEach((r, i) =>
      console.log(`PostgreSQL per confirmed order at ${r.phase.rate}/s: ${pgRows[i]!.join(', ')}`),
    );
    printStatements(results, statements, statementsSupport);
    if (natsRows.length > 0)
      console.log(
        `NATS messages per confirmed order (the bench's own nats-server; its status-event subscription included): ${natsRows.join('; ')}`,
      );
    results.forEach((r, i) => {
      const { ended, otherBackends } = usage[i]!;
      const total = sagaTotal(usage[i]!);
      const notes = [
        ended > 0 ? `${ended} processes ended in the window, their last CPU time not counted` : '',
        otherBackends > 0.05
          ? `other databases' backends used ${otherBackends.toFixed(1)} CPU s meanwhile, not counted`
          : '',
      ].filter(Boolean);
      console.log(
        `CPU per confirmed order: ${perOrderMs(total, r)} ms at ${r.phase.rate}/s, notifications (process and database) ${perOrderMs(notificationsShare(usage[i]!), r)} ms besides (process ${perOrderMs(usage[i]!.byGroup.notifications ?? 0, r)}, database ${perOrderMs(usage[i]!.byGroup['pg:notifications'] ?? 0, r)})${notes.length ? ` (${notes.join('; ')})` : ''}`,
      );
    });
    sub.unsubscribe();
    await nc.close();
  } finally {
    process.removeListener('SIGINT', stop);
    await system?.dispose();
  }
}

await main();
