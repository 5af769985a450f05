// Where a process's CPU time went, from a V8 CPU profile (`node --cpu-prof`, or
// `BENCH_CPU_PROFILE=orders,gateway npm run bench:saga`, which writes them to
// .cache/bench-profiles): self time by area (this repo's folders, each package, node's
// internals, garbage collection, idle) and the functions with the most self time.
//   node bench/profile-summary.ts .cache/bench-profiles/*.cpuprofile
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** The area a script belongs to: a package, a folder of this repo, or node itself. */
function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const repo = /\/(shared\/[^/]+|subgraphs\/[^/]+\/src\/[^/]+|gateway\/src\/[^/]+|[^/]+)\/[^/]*$/.exec(url);
  return repo ? repo[1]! : url;
}

function summarize(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const idle = areas.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s`];
  const sorted = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
  lines.push('  by area:', ...sorted(areas).map(([k, v]) => `    ${pct(v)}  ${k}`));
  lines.push('  by function (self):', ...sorted(functions).map(([k, v]) => `    ${pct(v)}  ${k}`));
  return lines.join('\n');
}

for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  // The process: the service whose source files appear most often in the profile.
  const services = new Map<string, number>();
  for (const n of profile.nodes) {
    const service = /\/(subgraphs\/[^/]+|gateway)\/src\//.exec(n.callFrame.url)?.[1];
    if (service) services.set(service, (services.get(service) ?? 0) + 1);
  }
  const service = [...services].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '?';
  console.log(`\n${file}: ${service}`);
  console.log(summarize(profile, 25));
}
