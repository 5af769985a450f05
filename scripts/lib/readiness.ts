// Waiting for a process of the system to answer ready on GET /health/ready, and the error that
// says which process did not and what it printed last.

import http from 'node:http';
import type { ExitInfo } from './supervisor.ts';

export class SystemStartError extends Error {
  override name = 'SystemStartError';
  readonly processId: string;
  readonly output: string;

  constructor(processId: string, reason: string, output: string) {
    super(`${processId} ${reason}${output ? `\n--- last output of ${processId} ---\n${output}` : ''}`);
    this.processId = processId;
    this.output = output;
  }
}

/** What readiness needs to know of a process. */
export interface Probed {
  readonly id: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly running: boolean;
  readonly exited: Promise<ExitInfo>;
  recentOutput(): string;
}

/** Resolves once GET /health/ready answers 200; throws if the process exits first or the time runs out; returns when aborted. */
export async function waitReady(p: Probed, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const url = `${p.baseUrl}/health/ready`;
  let last: string;
  for (;;) {
    if (signal.aborted) return;
    if (!p.running) {
      const exit = await p.exited;
      throw new SystemStartError(
        p.id,
        `exited (${exit.signal ?? `code ${exit.code}`}) before it was ready on port ${p.port}`,
        p.recentOutput(),
      );
    }
    try {
      const { status, body } = await probe(url, signal);
      if (status === 200) return;
      last = `HTTP ${status} ${body.slice(0, 300)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new SystemStartError(
        p.id,
        `was not ready within ${timeoutMs} ms (GET ${url}: ${last})`,
        p.recentOutput(),
      );
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 200)), p.exited]);
  }
}

/**
 * One GET on a connection of its own (no keep-alive pool): a probe must not leave an idle
 * socket open that the process then waits for when it drains its HTTP server on SIGTERM.
 */
function probe(url: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 2000, signal }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 2000 ms')));
    request.on('error', reject);
  });
}
