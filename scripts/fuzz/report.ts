// The summary of a fuzz run: counts per violation class, which generators found each, every
// 5xx with its request, examples of the rest, and the heap table.
import { VIOLATION_CLASSES, VIOLATION_MEANING, type ViolationClass } from './checks.ts';
import type { Finding, FuzzReport } from './run.ts';

const EXAMPLES_PER_CLASS = 6;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

/** `{ hung: 3, 'server-error': 160 }`: the classes that occurred (main pass), for assertions. */
export function violationCounts(report: FuzzReport): Partial<Record<ViolationClass, number>> {
  return Object.fromEntries(Object.entries(report.counts).filter(([, n]) => n > 0));
}

/** Violations of both passes: what decides the exit code. */
export function totalViolations(report: FuzzReport): number {
  const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return sum(report.counts) + sum(report.warmupCounts);
}

function byFamily(findings: readonly Finding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.family, (counts.get(f.family) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([family, n]) => `${family} ${n}`)
    .join(', ');
}

/** Examples spread over families: the first finding of each family first. */
function examples(findings: readonly Finding[], max: number): Finding[] {
  const seen = new Set<string>();
  const first = findings.filter((f) => !seen.has(f.family) && seen.add(f.family));
  return [...first, ...findings.filter((f) => !first.includes(f))].slice(0, max);
}

export function formatReport(report: FuzzReport): string {
  const lines: string[] = [];
  const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
  lines.push(
    '',
    `Fuzz run, seed ${report.seed}: ${report.sent} probes (after a warm-up of ${report.warmupSent}) in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  lines.push(
    `answers: ${Object.entries(report.statuses)
      .sort((a, b) => b[1] - a[1])
      .map(([s, n]) => `${s}×${n}`)
      .join('  ')}`,
  );
  lines.push(
    `probes by generator: ${Object.entries(report.families)
      .sort()
      .map(([f, n]) => `${f} ${n}`)
      .join(', ')}`,
    '',
  );
  const warmup = Object.values(report.warmupCounts).reduce((a, b) => a + b, 0);
  lines.push('| violation | count | in the warm-up | meaning |', '| --- | ---: | ---: | --- |');
  for (const cls of VIOLATION_CLASSES) {
    lines.push(
      `| ${cls} | ${report.counts[cls]} | ${report.warmupCounts[cls]} | ${VIOLATION_MEANING[cls]} |`,
    );
  }
  lines.push(`| total | ${total} | ${warmup} | |`);
  for (const cls of VIOLATION_CLASSES) {
    const findings = report.findings.filter((f) => f.cls === cls);
    if (findings.length === 0) continue;
    lines.push('', `${cls} (${findings.length}) by generator: ${byFamily(findings)}`);
    const shown = cls === 'server-error' ? findings : examples(findings, EXAMPLES_PER_CLASS);
    for (const f of shown) lines.push(`  #${f.index} ${f.family}: ${f.detail}`, `      ${f.request}`);
    if (shown.length < findings.length) lines.push(`  … ${findings.length - shown.length} more`);
  }
  if (report.warmupFindings.length > 0) {
    lines.push('', `warm-up pass (seed ${report.warmupSeed}), examples:`);
    for (const cls of VIOLATION_CLASSES) {
      for (const f of examples(
        report.warmupFindings.filter((w) => w.cls === cls),
        3,
      )) {
        lines.push(`  ${cls} #${f.index} ${f.family}: ${f.detail}`, `      ${f.request}`);
      }
    }
  }
  lines.push('', 'slowest answers:');
  for (const s of report.slowest) lines.push(`  ${s.ms} ms  #${s.index} ${s.family}: ${s.request}`);
  if (report.heaps.length > 0) {
    lines.push(
      '',
      `| process | heap after warm-up | heap after run | growth (limit ${(report.heapTolerance * 100).toFixed(0)} %) | RSS after |`,
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const h of report.heaps) {
      lines.push(
        `| ${h.process} | ${mb(h.baseline.heapUsed)} | ${mb(h.after.heapUsed)} | ${(h.growth * 100).toFixed(1)} % | ${mb(h.after.rss)} |`,
      );
    }
  }
  lines.push(
    '',
    total === 0
      ? warmup === 0
        ? 'No violations.'
        : `${warmup} violations in the warm-up pass only: replay one with --seed ${report.warmupSeed} --only <#index>.`
      : `${total} violations: replay one with --seed ${report.seed} --only <#index>.`,
  );
  return lines.join('\n');
}
