// The system a benchmark drives: the test harness's (free ports, its own databases and NATS
// namespace), with the limits meant for real clients raised, since one benchmark client is
// many users from one address; and the products and customers it orders with.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  startTestSystem,
  testId,
  type TestSystem,
  type TestSystemOptions,
} from '../../test/support/system.ts';
import type { Client } from '../../e2e/support/client.ts';
import { ensureInfrastructure } from '../../scripts/lib/infra.ts';
import { freePort } from '../../scripts/lib/ports.ts';
import { DEFAULT_DATABASE_URL } from '../../scripts/lib/services.ts';

export const BENCH_ENV = {
  RATE_LIMIT_PER_MINUTE: '10000000',
  RATE_LIMIT_BURST: '1000000',
  // The bench registers its customers from one address, faster than a client would.
  LOGIN_THROTTLE_ENABLED: 'false',
  // Every subscriber's WebSocket comes from the bench's one address.
  SUBSCRIPTION_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
} as const;

/** A bench's system; with a nats-server of its own, that server's monitoring endpoint. */
export type BenchSystem = TestSystem & { readonly natsMonitorUrl?: string };

/**
 * `BENCH_NATS=own` runs the system on a nats-server of its own (started here, stopped with the
 * system) rather than the one at NATS_URL: on a machine where others use that one, its CPU
 * time is then the system's alone, and its message counters (natsMonitorUrl) too.
 */
export async function startBenchSystem(options: TestSystemOptions = {}): Promise<BenchSystem> {
  const env = { ...BENCH_ENV, ...options.env };
  if (process.env.BENCH_NATS !== 'own') return startTestSystem({ ...options, env });
  const id = testId();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-nats-'));
  const monitorPort = await freePort();
  const nats = await ensureInfrastructure({
    databaseUrl: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    natsUrl: `nats://127.0.0.1:${await freePort()}`,
    natsNamespace: id,
    natsMonitorPort: monitorPort,
    dataDir,
  });
  const stopNats = async () => {
    await nats.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const system = await startTestSystem({
      ...options,
      id,
      env,
      natsUrl: nats.natsUrl,
      natsCredentials: nats.natsCredentials,
    });
    const dispose = () => system.dispose().finally(stopNats);
    const natsMonitorUrl = `http://127.0.0.1:${monitorPort}`;
    return { ...system, natsMonitorUrl, dispose, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await stopNats();
    throw err;
  }
}

/** `count` products with `stock` each; their ids. */
export async function createProducts(
  client: Client,
  adminToken: string,
  count: number,
  stock: number,
): Promise<string[]> {
  const products: string[] = [];
  for (let i = 0; i < count; i++)
    products.push((await client.createProduct(adminToken, { priceCents: 100 + i, stock })).id);
  return products;
}

/** `count` customers, registered ten at a time (argon2 stays off the measured path); their tokens. */
export async function registerCustomers(client: Client, count: number): Promise<string[]> {
  const tokens: string[] = [];
  while (tokens.length < count) {
    const batch = Math.min(10, count - tokens.length);
    const customers = await Promise.all(Array.from({ length: batch }, () => registerCustomer(client)));
    tokens.push(...customers.map((c) => c.token));
  }
  return tokens;
}

/**
 * One customer; on a machine shared with other work the users database may answer too late
 * (SERVICE_UNAVAILABLE): the registration is tried again, as a client would.
 */
async function registerCustomer(client: Client): ReturnType<Client['registerCustomer']> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await client.registerCustomer();
    } catch (err) {
      if (attempt === 5 || !String(err).includes('SERVICE_UNAVAILABLE')) throw err;
      await sleep(1000);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
