// The system a benchmark drives: the test harness's (free ports, its own databases and NATS
// namespace), with the limits meant for real clients raised, since one benchmark client is
// many users from one address; and the products and customers it orders with.
import { startTestSystem, type TestSystem, type TestSystemOptions } from '../../test/support/system.ts';
import type { Client } from '../../e2e/support/client.ts';

export const BENCH_ENV = {
  RATE_LIMIT_PER_MINUTE: '10000000',
  RATE_LIMIT_BURST: '1000000',
  // The bench registers its customers from one address, faster than a client would.
  LOGIN_THROTTLE_ENABLED: 'false',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
} as const;

export function startBenchSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  return startTestSystem({ ...options, env: { ...BENCH_ENV, ...options.env } });
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
    const customers = await Promise.all(Array.from({ length: batch }, () => client.registerCustomer()));
    tokens.push(...customers.map((c) => c.token));
  }
  return tokens;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
