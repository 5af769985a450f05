// The fuzz engine of `npm run fuzz` (scripts/fuzz/), with a small count: generated hostile
// requests (mutated schema documents, document attacks, HTTP breakage, SSE and graphql-ws
// abuse) against a system of its own must cause no 5xx outside the contract, no internal or
// uncoded error, no leak, no hung or dropped connection, no process exit, and leave the system
// working (a query, an order reaching CONFIRMED). The heap comparison after a warm-up needs a
// longer run: `npm run fuzz` does it.
import { describe, expect, it } from '@jest/globals';
import { formatReport, violationCounts } from '../../scripts/fuzz/report.ts';
import { runFuzz } from '../../scripts/fuzz/run.ts';

const COUNT = 1_200;
const SEED = 20_261_130;

describe('hostile input (fuzz)', () => {
  it(`answers ${COUNT} generated hostile requests without a violation`, async () => {
    const report = await runFuzz({
      seed: SEED,
      count: COUNT,
      warmup: 0,
      concurrency: 8,
      timeoutMs: 10_000,
      heap: false,
      heapTolerance: 0.1,
      log: () => {},
    });
    const counts = violationCounts(report);
    // The classes, with examples and the requests that caused them (replay with
    // `npm run fuzz -- --seed 20261130 --count 1200 --only <index>`).
    if (Object.keys(counts).length > 0) console.error(formatReport(report));
    expect(report.sent).toBe(COUNT);
    expect(counts).toEqual({});
  }, 180_000);
});
