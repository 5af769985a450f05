// What starting a local server takes: its address and whether it answers, the errors, the
// server's last output lines for an error message, and the data directory (see infra.ts).
import { chmod, mkdir } from 'node:fs/promises';
import net from 'node:net';

export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
}

export interface Started {
  readonly stop: () => Promise<void>;
  /** Signals the server without waiting, for a process that is exiting. */
  readonly abandon: () => void;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

export interface Address {
  readonly host: string;
  readonly port: number;
}

export function addressOf(url: string, defaultPort: number, name = 'URL'): Address {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InfrastructureError(`${name} is not a URL: "${url}"`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: parsed.port ? Number(parsed.port) : defaultPort };
}

/** True when something accepts a TCP connection at host:port within timeoutMs. */
export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: connectHost(host), port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Waits until host:port answers; fails early when `failed()` returns a reason. */
export async function waitForPort(
  address: Address,
  timeoutMs: number,
  failed: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = failed();
    if (reason) throw new InfrastructureError(reason);
    if (await isListening(address.host, address.port, 500)) return;
    if (Date.now() > deadline) {
      throw new InfrastructureError(
        `nothing answered on ${address.host}:${address.port} within ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === 'localhost') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export function requireLocal(host: string, what: string, variable: string, url: string): void {
  if (!LOCAL_HOSTS.has(host)) {
    throw new InfrastructureError(
      `${what} at ${redact(url)} is not answering, and it is not on this machine, so it cannot be started here: start it or fix ${variable}.`,
    );
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

export const isRoot = (): boolean => process.getuid?.() === 0;

export async function prepareDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach its directory.
  if (isRoot()) await chmod(dataDir, 0o755);
}

/** Keeps the last lines a server printed, for an error message. */
export function lineBuffer(max = 40): { push(chunk: string): void; text(): string } {
  const lines: string[] = [];
  return {
    push(chunk) {
      for (const line of chunk.split('\n')) {
        if (line.trim()) lines.push(line.trimEnd());
      }
      lines.splice(0, Math.max(0, lines.length - max));
    },
    text: () => lines.join('\n'),
  };
}
