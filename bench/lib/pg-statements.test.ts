import { describe, expect, it } from '@jest/globals';
import { pgStatementsBetween, statementRows, type StatementCounters } from './pg-statements.ts';

const counters = (
  database: string,
  query: string,
  calls: number,
  execMs: number,
  planMs = 0,
  plans = 0,
): StatementCounters => ({ database, query, calls, execMs, planMs, plans });

describe('pgStatementsBetween', () => {
  it('gives what each statement did between the samples, and leaves out those not run meanwhile', () => {
    const before = new Map([
      ['a:1', counters('orders', 'select 1', 10, 5, 1, 2)],
      ['a:2', counters('orders', 'select 2', 4, 2)],
    ]);
    const after = new Map([
      ['a:1', counters('orders', 'select 1', 30, 15, 3, 2)],
      ['a:2', counters('orders', 'select 2', 4, 2)],
      ['b:3', counters('payments', 'select 3', 7, 1.5, 0.5, 7)],
    ]);
    expect(pgStatementsBetween(before, after)).toEqual([
      counters('orders', 'select 1', 20, 10, 2, 0),
      counters('payments', 'select 3', 7, 1.5, 0.5, 7),
    ]);
  });
});

describe('statementRows', () => {
  it("gives each database's total, then its statements of at least the share, longest first, per unit", () => {
    const rows = statementRows(
      [
        counters('orders', 'select  *\n  from orders', 20, 8, 0, 0),
        counters('orders', 'begin', 40, 0.1),
        counters('orders', 'insert into outbox', 10, 1.5, 0.4, 10),
        counters('inventory', 'update stock', 10, 3),
      ],
      10,
      { minShare: 0.05 },
    );
    expect(rows.map((r) => [r.database, r.statement])).toEqual([
      ['inventory', 'all 1 statements'],
      ['inventory', 'update stock'],
      ['orders', 'all 3 statements'],
      ['orders', 'select * from orders'],
      ['orders', 'insert into outbox'],
    ]);
    expect(rows[2]).toMatchObject({ callsPer: 7, execUsPer: 960, planUsPer: 40, plannedShare: 10 / 70 });
    expect(rows[3]).toMatchObject({ callsPer: 2, execUsPer: 800, planUsPer: 0, meanExecUs: 400 });
    expect(rows[4]).toMatchObject({ plannedShare: 1, meanExecUs: 150 });
  });

  it('keeps a statement to one table cell: one line, cut to the width, its bars escaped', () => {
    const [, row] = statementRows([counters('orders', "select $1 || '_'\nfrom t where x = 1", 1, 1)], 1, {
      textWidth: 20,
    });
    expect(row!.statement).toBe("select $1 \\|\\| '_' fr…");
  });
});
