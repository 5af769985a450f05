// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file (or
// package), the top entries with their share of the samples. `node bench/lib/cpu-profile.ts
// <file.cpuprofile> [--top 25] [--last SECONDS] [--from SECONDS] [--to SECONDS] [--timeline]`:
// `--last` keeps only the samples of the profile's last seconds (a bench's final round, not the
// process's start-up); `--from`/`--to` keep those between two times counted from the profile's
// start (one phase of a bench); `--timeline` prints the busy time of each 5 s, to find them.
// Idle and GC time are shown as V8 names them ("(idle)", "(garbage collector)"); the shares are
// of the time sampled less idle.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { markdown } from './report.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly endTime: number;
}

/** A file's package (`graphql-shield`, `@mikro-orm/core`), or its path inside the project. */
function owner(url: string): string {
  if (!url) return '(native or V8)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  if (url.startsWith('node:')) return url;
  const project = url.indexOf('/subgraphs/') >= 0 ? url.indexOf('/subgraphs/') : url.indexOf('/shared/');
  return project >= 0 ? url.slice(project + 1) : url;
}

function top(totals: Map<string, number>, all: number, count: number): string[][] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => [name, (us / 1000).toFixed(0), ((us / all) * 100).toFixed(1)]);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '25' },
      last: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      timeline: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1)
    throw new Error(
      'usage: cpu-profile.ts <file.cpuprofile> [--top N] [--last S] [--from S] [--to S] [--timeline]',
    );
  const profile = JSON.parse(await readFile(positionals[0]!, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let all = 0;
  let idle = 0;
  // Sample times are the running sum of the deltas from the profile's start (µs).
  const start = profile.endTime - profile.timeDeltas.reduce((a, b) => a + b, 0);
  const from = Math.max(
    values.last === undefined ? -Infinity : profile.endTime - Number(values.last) * 1e6,
    values.from === undefined ? -Infinity : start + Number(values.from) * 1e6,
  );
  const to = values.to === undefined ? Infinity : start + Number(values.to) * 1e6;
  const busyBySlot: number[] = [];
  let at = start;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += delta;
      return;
    }
    const slot = Math.floor((at - start) / 5e6);
    busyBySlot[slot] = (busyBySlot[slot] ?? 0) + delta;
    const where = owner(frame.url);
    const name = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
    byOwner.set(where, (byOwner.get(where) ?? 0) + delta);
    all += delta;
  });
  const count = Number(values.top);
  console.log(`${(all / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle\n`);
  if (values.timeline) {
    const rows = Array.from(busyBySlot, (us, slot) => [`${slot * 5}`, ((us ?? 0) / 1e6).toFixed(2)]);
    console.log(markdown(['from s', 'busy s of 5'], rows));
    console.log('');
  }
  console.log(markdown(['package or file', 'self ms', '%'], top(byOwner, all, count)));
  console.log('');
  console.log(markdown(['function', 'self ms', '%'], top(byFunction, all, count)));
}

await main();
