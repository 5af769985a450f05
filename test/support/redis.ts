// Redis for tests: the shared server (REDIS_URL, else 127.0.0.1:6379; CI starts it) under a key
// prefix of each test's own, removed afterwards, and a server of a test's own to stop at will.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from '../../scripts/lib/ports.ts';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh `t_<random>:` key prefix, so parallel test runs never share a key. */
export function testKeyPrefix(): string {
  return `t_${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` on the shared server. */
export async function deleteKeys(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}

export interface OwnRedis {
  readonly url: string;
  /** Kills the server (SIGKILL: connections drop as in a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

/** Debian's redis-server on a free port, without persistence. Kill it when done. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child = await launchRedis(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async start() {
      child = await launchRedis(port);
    },
  };
}

async function launchRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // It prints this line once it accepts connections.
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Ready to accept connections')) resolve();
    });
  });
  return child;
}
