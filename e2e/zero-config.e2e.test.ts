// `npm start` with nothing to lean on: DATABASE_URL and NATS_URL point at ports where nothing
// listens, so the launcher must start PostgreSQL (embedded) and nats-server itself, bring the
// whole system up, answer through the gateway, and stop every process on SIGTERM.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isListening } from '../scripts/lib/local-servers.ts';
import { defaultNodePath } from '../scripts/lib/processes.ts';
import { freePort } from '../scripts/lib/ports.ts';
import { PROCESSES, REPO_ROOT } from '../scripts/lib/services.ts';
import { graphqlRequest } from '../test/support/system.ts';

const START_TIMEOUT_MS = 120_000;

describe('npm start with no PostgreSQL and no NATS running', () => {
  let dataDir: string;
  let launcher: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let pgPort: number;
  let natsPort: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'zero-config-'));
    pgPort = await freePort();
    natsPort = await freePort();
    launcher = spawn(defaultNodePath(), ['scripts/start.ts', '--free-ports', '--data-dir', dataDir], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'development',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
        NATS_URL: `nats://127.0.0.1:${natsPort}`,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    launcher.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    exited = new Promise((resolve) => launcher.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (launcher.exitCode === null && launcher.signalCode === null) {
      launcher.kill('SIGTERM');
      const timer = setTimeout(() => launcher.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Resolves with the gateway URL once the launcher prints it; rejects if it exits first. */
  function gatewayUrl(): Promise<string> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + START_TIMEOUT_MS;
      const poll = (): void => {
        const match = /^Gateway\s+(http:\/\/\S+\/graphql)/m.exec(output);
        if (match) return resolve(match[1]!.replace('//localhost:', '//127.0.0.1:'));
        if (launcher.exitCode !== null)
          return reject(new Error(`launcher exited ${launcher.exitCode}:\n${output}`));
        if (Date.now() > deadline)
          return reject(new Error(`no gateway URL within ${START_TIMEOUT_MS} ms:\n${output}`));
        setTimeout(poll, 200);
      };
      poll();
    });
  }

  it(
    'starts its own servers, serves a query through the gateway and stops everything on SIGTERM',
    async () => {
      const url = await gatewayUrl();
      expect(output).toContain(`started embedded PostgreSQL on 127.0.0.1:${pgPort}`);
      expect(output).toMatch(new RegExp(`started nats-server [\\d.]+ on 127\\.0\\.0\\.1:${natsPort}`));

      const ready = await fetch(new URL('/health/ready', url));
      expect(ready.status).toBe(200);
      const response = await graphqlRequest<{ __typename: string }>(url, '{ __typename }');
      expect(response).toEqual({ data: { __typename: 'Query' } });

      // In development it seeds the demo data and prints the demo customer beside the admin.
      expect(output).toContain('launcher | demo data: 20 products created, customer created');
      expect(output).toMatch(/^Customer\s+customer@example\.com \/ customer-password\s/m);
      const catalogue = await graphqlRequest<{ products: { totalCount: number } }>(
        url,
        '{ products { totalCount } }',
      );
      expect(catalogue).toEqual({ data: { products: { totalCount: 20 } } });

      const ports = [...output.matchAll(/http:\/\/localhost:(\d+)\/graphql/g)].map((m) => Number(m[1]));
      expect(new Set(ports).size).toBe(PROCESSES.length);
      // No SMTP_URL: the notifications subgraph writes its emails under the data directory.
      expect(output).toMatch(
        new RegExp(`^Mail\\s+.*${path.basename(dataDir)}/mail/<notification>\\.eml`, 'm'),
      );

      launcher.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('launcher | stopped');
      for (const port of [...ports, pgPort, natsPort]) {
        expect({ port, listening: await isListening('127.0.0.1', port) }).toEqual({ port, listening: false });
      }
    },
    START_TIMEOUT_MS + 60_000,
  );
});
