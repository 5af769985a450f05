// npm run fuzz -- [--seed N] [--count N] [--warmup N] [--concurrency N] [--timeout-ms N]
//                 [--no-heap] [--heap-tolerance 0.1] [--only 12,345] [--json report.json]
//
// Starts a test system on free ports (127.0.0.1 only) and sends it a seeded, bounded stream
// of generated hostile requests (scripts/fuzz/). Prints a summary table and exits non-zero on
// any violation: a 5xx outside the contract, a hung or dropped connection, a process exit, an
// error without extensions.code (SSE and WebSocket included), a leaked internal, heap growth
// over the baseline, or a system that no longer works afterwards.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatReport, totalViolations } from './fuzz/report.ts';
import { runFuzz } from './fuzz/run.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '10000' },
    warmup: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    'timeout-ms': { type: 'string', default: '10000' },
    'no-heap': { type: 'boolean', default: false },
    'heap-tolerance': { type: 'string', default: '0.1' },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});

function whole(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be a whole number >= ${min}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const count = whole('count', values.count, 1);
const only = values.only?.split(',').map((s) => whole('only', s.trim().replace(/^#/, ''), 0));
const report = await runFuzz({
  seed: whole('seed', values.seed, 0),
  count,
  // Twice the count: bounded caches (parsed documents, query plans) fill before the baseline.
  warmup: whole('warmup', values.warmup ?? String(only ? 0 : 2 * count), 0),
  concurrency: whole('concurrency', values.concurrency, 1),
  timeoutMs: whole('timeout-ms', values['timeout-ms'], 100),
  heap: !values['no-heap'] && !only,
  heapTolerance: Number(values['heap-tolerance']),
  only,
  log: (line) => console.error(line),
});
console.log(formatReport(report));
if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2));
process.exitCode = totalViolations(report) === 0 ? 0 : 1;
