import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ManagedProcess } from './managed-process.ts';
import { environments } from './process-env.ts';
import { REPO_ROOT } from './services.ts';

const processes = [
  new ManagedProcess('orders', 1, 4004, '127.0.0.1'),
  new ManagedProcess('gateway', 1, 4000, '127.0.0.1'),
];

describe('environments', () => {
  it("keeps Node's compile cache in the repository's .cache unless one is given", () => {
    const { envOf } = environments(processes, { env: { NODE_COMPILE_CACHE: undefined } });
    for (const p of processes) {
      expect(envOf(p).NODE_COMPILE_CACHE).toBe(path.join(REPO_ROOT, '.cache', 'node-compile'));
    }
    const given = environments(processes, { env: { NODE_COMPILE_CACHE: '/tmp/elsewhere' } });
    expect(given.envOf(processes[0]!).NODE_COMPILE_CACHE).toBe('/tmp/elsewhere');
  });

  it('gives each process its own port over what they share', () => {
    const { envOf } = environments(processes, {});
    expect(envOf(processes[0]!).PORT).toBe('4004');
    expect(envOf(processes[1]!).PORT).toBe('4000');
    expect(envOf(processes[0]!).SERVICE_SECRET).toBe(envOf(processes[1]!).SERVICE_SECRET);
  });
});
