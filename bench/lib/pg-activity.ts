// Transactions and rows written per database of a system, from pg_stat_database: with the CPU
// per process it says what PostgreSQL's share of an order is spent on. (The statistics reach
// the view up to a second after a transaction ends, so a sample taken after a phase's drain
// counts that phase.)
import type { TestSystem } from '../../test/support/system.ts';
import { withServerClient } from './server-client.ts';

export type PgActivity = ReadonlyMap<string, { readonly transactions: number; readonly rowsWritten: number }>;

export async function samplePgActivity(system: TestSystem): Promise<PgActivity> {
  return withServerClient(system, async (client) => {
    const { rows } = await client.query<{ datname: string; xacts: string; written: string }>(
      `select datname, xact_commit + xact_rollback as xacts, tup_inserted + tup_updated + tup_deleted as written
         from pg_stat_database where left(datname, length($1) + 1) = $1 || '_'`,
      [system.id],
    );
    return new Map(
      rows.map((r) => [
        r.datname.slice(system.id.length + 1),
        { transactions: Number(r.xacts), rowsWritten: Number(r.written) },
      ]),
    );
  });
}

/** Per database, what was done between the samples: `{ transactions, rowsWritten }`. */
export function pgActivityBetween(
  before: PgActivity,
  after: PgActivity,
): Record<string, { transactions: number; rowsWritten: number }> {
  const result: Record<string, { transactions: number; rowsWritten: number }> = {};
  for (const [database, now] of after) {
    const then = before.get(database) ?? { transactions: 0, rowsWritten: 0 };
    result[database] = {
      transactions: now.transactions - then.transactions,
      rowsWritten: now.rowsWritten - then.rowsWritten,
    };
  }
  return result;
}
