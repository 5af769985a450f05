// The processes' source code as text, for the tests that hold deployment files (docker-compose,
// Kubernetes, the observability profile) to what the code reads and serves.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/services.ts';

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) return entry === 'node_modules' ? [] : sourceFiles(file);
    return /\.ts$/.test(entry) && !/\.test\.ts$/.test(entry) ? [file] : [];
  });
}

/** Every source file the processes run (tests left out), joined. */
export const processSources = ['gateway', 'subgraphs', 'shared']
  .flatMap((dir) => sourceFiles(path.join(REPO_ROOT, dir)))
  .map((file) => readFileSync(file, 'utf8'))
  .join('\n');

/** The code reads NAME as `'NAME'`, `"NAME"`, `` `NAME` `` or `env.NAME`. */
export function codeReads(name: string): boolean {
  return new RegExp(`['"\`]${name}['"\`]|\\.${name}\\b`).test(processSources);
}

/** The code serves PATH as a route key (`'/health/ready': ...`). */
export function codeServes(route: string): boolean {
  return processSources.includes(`'${route}':`);
}
