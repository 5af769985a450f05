// PostgreSQL's time per statement for the databases of a system, from pg_stat_statements: which
// statements an order runs in each database, how often, and how long the server took to execute
// and to plan them. With the CPU per process (cpu.ts) and the transactions per database
// (pg-activity.ts) it says where PostgreSQL's share of an order goes.
//
// The extension's library can only be loaded by the server at its start (shared_preload_libraries),
// so this measures only on a server where an operator has loaded it; otherwise the bench says how
// in one line. Execution time is the server's wall time: a statement that waited for a row lock
// counts its wait, which is how lock contention between two transactions of one order shows.
import type { TestSystem } from '../../test/support/system.ts';
import { withServerClient } from './server-client.ts';

export interface StatementCounters {
  /** The system's database, without its prefix (`orders`). */
  readonly database: string;
  /** The statement as pg_stat_statements normalises it (`$1` for each constant). */
  readonly query: string;
  readonly calls: number;
  readonly execMs: number;
  readonly planMs: number;
  readonly plans: number;
}

/** Counters by database and statement (pg_stat_statements' query id). */
export type PgStatements = ReadonlyMap<string, StatementCounters>;

/** Whether this server can say what each statement cost, and whether it times planning too. */
export type PgStatementsSupport =
  | { readonly available: true; readonly planning: boolean }
  | { readonly available: false; readonly reason: string };

/**
 * What this server offers. Where the library is loaded and the extension's view is missing from
 * the database of `system.databaseUrl` (see server-client.ts), creates it there, as an operator
 * who loaded the library would. Planning is timed only with pg_stat_statements.track_planning on.
 */
export async function pgStatementsSupport(system: TestSystem): Promise<PgStatementsSupport> {
  return withServerClient(system, async (client) => {
    const { rows } = await client.query<{ libraries: string; planning: string | null }>(
      `select current_setting('shared_preload_libraries') as libraries,
              current_setting('pg_stat_statements.track_planning', true) as planning`,
    );
    const { libraries, planning } = rows[0]!;
    if (!/\bpg_stat_statements\b/.test(libraries)) {
      return {
        available: false,
        reason:
          "pg_stat_statements is not loaded: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' and restart PostgreSQL",
      };
    }
    try {
      await client.query('create extension if not exists pg_stat_statements');
    } catch (err) {
      // e.g. a user who may not create extensions: the rest of the bench runs without it.
      return {
        available: false,
        reason: `pg_stat_statements is loaded but its view cannot be created here: ${(err as Error).message}`,
      };
    }
    return { available: true, planning: planning === 'on' };
  });
}

export async function samplePgStatements(system: TestSystem): Promise<PgStatements> {
  return withServerClient(system, async (client) => {
    const { rows } = await client.query<{
      datname: string;
      queryid: string;
      query: string;
      calls: string;
      exec_ms: number;
      plan_ms: number;
      plans: string;
    }>(
      // One row per statement and database: the view keeps one per user and nesting level too.
      `select d.datname, s.queryid::text as queryid, min(s.query) as query, sum(s.calls) as calls,
              sum(s.total_exec_time) as exec_ms, sum(s.total_plan_time) as plan_ms, sum(s.plans) as plans
         from pg_stat_statements s join pg_database d on d.oid = s.dbid
        where left(d.datname, length($1) + 1) = $1 || '_'
        group by d.datname, s.queryid`,
      [system.id],
    );
    return new Map(
      rows.map((r) => [
        `${r.datname}:${r.queryid}`,
        {
          database: r.datname.slice(system.id.length + 1),
          query: r.query,
          calls: Number(r.calls),
          execMs: Number(r.exec_ms),
          planMs: Number(r.plan_ms),
          plans: Number(r.plans),
        },
      ]),
    );
  });
}

/** What each statement did between two samples; statements not run meanwhile are left out. */
export function pgStatementsBetween(before: PgStatements, after: PgStatements): StatementCounters[] {
  const delta: StatementCounters[] = [];
  for (const [key, now] of after) {
    const then = before.get(key);
    const calls = now.calls - (then?.calls ?? 0);
    if (calls <= 0) continue;
    delta.push({
      ...now,
      calls,
      execMs: now.execMs - (then?.execMs ?? 0),
      planMs: now.planMs - (then?.planMs ?? 0),
      plans: now.plans - (then?.plans ?? 0),
    });
  }
  return delta;
}

export interface StatementRow {
  readonly database: string;
  /** The statement's text on one line, cut to `textWidth`; `all statements` for a database's total. */
  readonly statement: string;
  readonly callsPer: number;
  /** Microseconds per unit of `per` (e.g. per confirmed order). */
  readonly execUsPer: number;
  readonly planUsPer: number;
  /** Of the calls, the share that were planned (the rest ran a plan prepared before). */
  readonly plannedShare: number;
  readonly meanExecUs: number;
}

/**
 * Each database's total, then its statements that took at least `minShare` of that database's
 * time (execution and planning), longest first; amounts per `per`.
 */
export function statementRows(
  statements: readonly StatementCounters[],
  per: number,
  { minShare = 0.03, textWidth = 90 }: { minShare?: number; textWidth?: number } = {},
): StatementRow[] {
  const row = (database: string, statement: string, s: Omit<StatementCounters, 'database' | 'query'>) => ({
    database,
    statement,
    callsPer: s.calls / per,
    execUsPer: (s.execMs * 1000) / per,
    planUsPer: (s.planMs * 1000) / per,
    plannedShare: s.calls > 0 ? s.plans / s.calls : 0,
    meanExecUs: s.calls > 0 ? (s.execMs * 1000) / s.calls : 0,
  });
  const time = (s: StatementCounters) => s.execMs + s.planMs;
  const databases = [...new Set(statements.map((s) => s.database))].sort();
  return databases.flatMap((database) => {
    const own = statements.filter((s) => s.database === database).sort((a, b) => time(b) - time(a));
    const total = own.reduce(
      (sum, s) => ({
        calls: sum.calls + s.calls,
        execMs: sum.execMs + s.execMs,
        planMs: sum.planMs + s.planMs,
        plans: sum.plans + s.plans,
      }),
      { calls: 0, execMs: 0, planMs: 0, plans: 0 },
    );
    const all = total.execMs + total.planMs;
    return [
      row(database, `all ${own.length} statements`, total),
      ...own
        .filter((s) => all > 0 && time(s) / all >= minShare)
        .map((s) => row(database, oneLine(s.query, textWidth), s)),
    ];
  });
}

function oneLine(query: string, width: number): string {
  const text = query.replace(/\s+/g, ' ').trim();
  const cut = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  // A table cell: SQL's `||` would end it.
  return cut.replaceAll('|', '\\|');
}
