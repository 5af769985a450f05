// The system a fuzz run attacks: a test system (every process on free ports, 127.0.0.1 only)
// with diagnostics on and the general rate limit off for the run, real data to aim at (products,
// a customer's order), tokens, each process's heap after GC, and the final health check.
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from 'graphql';
import { Client } from '../../e2e/support/client.ts';
import { subscribeWs, wsClient } from '../../e2e/support/live.ts';
import { HEAP_PATH, type HeapReport } from '../../shared/http/diagnostics.ts';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';
import { SUBGRAPHS } from '../lib/services.ts';
import type { Auth, World } from './probe.ts';

/**
 * Settings for the attacked system. The general rate limit would refuse most of a run from one
 * address; throttles added later for one kind of abuse (failed logins...) are kept on unless
 * they stop the run from reaching the code under test.
 */
export const FUZZ_SYSTEM_ENV: Readonly<Record<string, string>> = {
  RATE_LIMIT_ENABLED: 'false',
  DIAGNOSTICS_ENABLED: 'true',
  // Tokens taken at the start must outlive the run.
  JWT_TTL_SECONDS: '7200',
  // Capped maps small enough for the warm-up to fill them: the heap check then measures growth
  // without bound, not a cap of 100,000 throttle states still filling.
  LOGIN_THROTTLE_MAX_KEYS: '1000',
  RATE_LIMIT_MAX_CLIENTS: '1000',
  GRAPHQL_CACHE_MIB: '2',
};

export interface FuzzSystem {
  readonly system: TestSystem;
  readonly world: World;
  readonly tokens: Readonly<Record<Auth, string | undefined>>;
  /** Lines saying a process exited unexpectedly. */
  readonly exits: string[];
}

export async function startFuzzSystem(): Promise<FuzzSystem> {
  const exits: string[] = [];
  const system = await startTestSystem({
    env: FUZZ_SYSTEM_ENV,
    nodeArgs: ['--expose-gc'],
    output: ({ id, stream, line }) => {
      // TEST_SYSTEM_OUTPUT=prefix shows the processes' logs, as for the other test systems.
      if (process.env.TEST_SYSTEM_OUTPUT === 'prefix') process.stderr.write(`${id} | ${line}\n`);
      // processes.ts reports an exit nobody asked for with this line.
      if (stream === 'stderr' && line.startsWith('exited unexpectedly')) exits.push(`${id} ${line}`);
    },
  });
  try {
    const client = new Client(system.urls.gateway!);
    const admin = await client.adminToken();
    const customer = await client.registerCustomer('Fuzz customer');
    const other = await client.registerCustomer('Other customer');
    const products = await Promise.all(
      [1, 2, 3].map((i) =>
        client.createProduct(admin, { priceCents: 100 * i, category: 'fuzz', stock: 1_000 }),
      ),
    );
    const orders: string[] = [];
    for (const who of [customer, other]) {
      const placed = await client.placeOrder(who.token, [{ productId: products[0]!.id, quantity: 1 }]);
      if (!placed.data?.placeOrder)
        throw new Error(`placing a seed order failed: ${JSON.stringify(placed.errors)}`);
      orders.push(placed.data.placeOrder.id);
    }
    const introspection = await client.data<IntrospectionQuery>(getIntrospectionQuery());
    const world: World = {
      schema: buildClientSchema(introspection),
      productIds: products.map((p) => p.id),
      orderIds: orders,
      userIds: [customer.id, other.id],
      subgraphs: SUBGRAPHS,
    };
    const tokens = {
      anonymous: undefined,
      customer: `Bearer ${customer.token}`,
      admin: `Bearer ${admin}`,
      garbage: `Bearer ${customer.token.slice(0, -4)}AAAA`,
    };
    return { system, world, tokens, exits };
  } catch (err) {
    await system.dispose();
    throw err;
  }
}

/** Each running process's heap after a forced GC (needs --expose-gc and DIAGNOSTICS_ENABLED). */
export async function readHeaps(system: TestSystem): Promise<Map<string, HeapReport>> {
  const heaps = new Map<string, HeapReport>();
  for (const p of system.processes) {
    if (!p.running) continue;
    const response = await fetch(`${p.baseUrl}${HEAP_PATH}`);
    if (!response.ok) throw new Error(`${p.id} ${HEAP_PATH} answered ${response.status}`);
    const report = (await response.json()) as HeapReport;
    if (!report.gc) throw new Error(`${p.id} cannot collect garbage on demand (started without --expose-gc)`);
    heaps.set(p.id, report);
  }
  return heaps;
}

/**
 * Does the system still do its job: a real query answers, and a placed order reaches CONFIRMED
 * (awaited on its live subscription, not polled). Returns what went wrong, or undefined.
 */
export async function checkHealthy(fuzz: FuzzSystem, timeoutMs = 30_000): Promise<string | undefined> {
  const gateway = fuzz.system.urls.gateway!;
  const client = new Client(gateway);
  const admin = fuzz.tokens.admin!.slice('Bearer '.length);
  try {
    const listed = await client.data<{ products: { totalCount: number } }>(
      '{ products(first: 1) { totalCount } }',
    );
    if (!(listed.products.totalCount > 0)) return `products answered ${JSON.stringify(listed)}`;
    // A product of its own: the run may have deactivated or re-priced the seeded ones.
    const product = await client.createProduct(admin, { priceCents: 500, stock: 10 });
    // The customer signed up before the run: a new sign-up from this address may rightly be
    // throttled after all the registrations the run sent.
    const customer = fuzz.tokens.customer!.slice('Bearer '.length);
    const placed = await client.placeOrder(customer, [{ productId: product.id, quantity: 1 }]);
    const orderId = placed.data?.placeOrder.id;
    if (!orderId) return `placeOrder answered ${JSON.stringify(placed.errors)}`;
    const ws = wsClient(fuzz.system.urls.gatewayWs!, customer);
    const live = subscribeWs(ws, { id: orderId });
    try {
      await live.untilStatus('CONFIRMED', timeoutMs);
    } finally {
      live.close();
      await ws.dispose();
    }
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.slice(0, 500) : String(err);
  }
}
