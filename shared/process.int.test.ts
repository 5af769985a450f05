// runService's last-resort handlers, on a real child process: an uncaught exception is logged
// and the process stops and exits non-zero (for its supervisor to restart it); an unhandled
// rejection is logged and the process keeps running; a hang-up stops it as SIGTERM does.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../scripts/lib/services.ts';

interface Run {
  readonly code: number | null;
  readonly logs: { level?: string; msg?: string; reason?: string; err?: { message?: string } }[];
  readonly stderr: string;
}

function run(mode: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'test/fixtures/crashing-service.ts'), mode], {
      env: { ...process.env, LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const logs = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Run['logs'][number]);
      resolve({ code, logs, stderr });
    });
  });
}

describe('runService', () => {
  it('logs an uncaught exception, stops the service and exits non-zero', async () => {
    const { code, logs } = await run('throw');
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const fatal = logs.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/uncaught exception/);
    expect(fatal?.err?.message).toBe('boom from a timer');
    expect(logs.map((l) => l.msg)).toContain('stopped');
  });

  it('stops the service cleanly when its terminal closes (SIGHUP), as on SIGTERM', async () => {
    const { code, logs } = await run('hangup');
    expect(code).toBe(0);
    expect(logs.find((l) => l.msg === 'shutting down')).toMatchObject({ reason: 'SIGHUP' });
    expect(logs.map((l) => l.msg)).toContain('stopped');
  });

  it('logs an unhandled rejection and keeps running', async () => {
    const { code, logs } = await run('reject');
    expect(code).toBe(0);
    const messages = logs.map((l) => l.msg);
    expect(messages).toContain('unhandled rejection');
    expect(messages.indexOf('still serving')).toBeGreaterThan(messages.indexOf('unhandled rejection'));
    expect(messages).toContain('stopped');
  });
});
