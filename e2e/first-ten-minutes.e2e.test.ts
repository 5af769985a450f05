// What a newcomer meets first, on one system started from empty databases: `npm start`'s demo
// data (seeded twice, counted in every subgraph's own database), `npm run demo` as a process
// against the gateway, and the Sandbox landing page in a real headless Chromium.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { EXAMPLE_OPERATION_NAMES } from '../gateway/src/landing-page.ts';
import { DEMO_PRODUCTS, DEMO_WAREHOUSES } from '../scripts/lib/demo-catalogue.ts';
import { seedDemoData } from '../scripts/lib/demo-seed.ts';
import { REPO_ROOT } from '../scripts/lib/services.ts';
import { DEMO_CUSTOMER } from '../shared/demo.ts';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import { Client, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD } from './support/client.ts';
import { checkLandingPage } from './support/landing-page.ts';

let system: TestSystem;
let client: Client;
let countsAtStart: DemoCounts;

beforeAll(async () => {
  system = await startTestSystem();
  client = new Client(system.urls.gateway!);
  countsAtStart = await demoCounts();
});

afterAll(async () => {
  await system?.dispose();
});

const seed = () =>
  seedDemoData({
    gatewayUrl: system.urls.gateway!,
    admin: { email: TEST_ADMIN_EMAIL, password: TEST_ADMIN_PASSWORD },
  });

interface DemoCounts {
  customers: number;
  products: number;
  stockRows: number;
  warehouses: string[];
  unitsAvailable: number;
  ordersCatalogueCopies: number;
}

/** One query in a subgraph's own database. */
async function count(service: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>> {
  const url = new URL(system.databaseUrl);
  url.pathname = `/${system.id}_${service}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows[0];
  } finally {
    await db.end();
  }
}

async function demoCounts(): Promise<DemoCounts> {
  const skus = DEMO_PRODUCTS.map((p) => p.sku);
  const [users, products, stock, copies] = await Promise.all([
    count('users', 'select count(*)::int as n from users where email = $1', [DEMO_CUSTOMER.email]),
    count('products', 'select count(*)::int as n from products where sku = any($1)', [skus]),
    count(
      'inventory',
      `select count(*)::int as n, coalesce(sum(available), 0)::int as units,
              coalesce(array_agg(distinct warehouse order by warehouse), '{}') as warehouses
         from stock`,
    ),
    count('orders', 'select count(*)::int as n from product_copies where sku = any($1)', [skus]),
  ]);
  return {
    customers: users.n as number,
    products: products.n as number,
    stockRows: stock.n as number,
    warehouses: stock.warehouses as string[],
    unitsAvailable: stock.units as number,
    ordersCatalogueCopies: copies.n as number,
  };
}

/** Orders' copy of the catalogue comes from product events: wait until all have arrived. */
async function untilOrdersHaveTheCatalogue(timeoutMs = 20_000): Promise<DemoCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await demoCounts();
    if (counts.ordersCatalogueCopies === DEMO_PRODUCTS.length || Date.now() > deadline) return counts;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("npm start's demo data", () => {
  it('is created once from empty databases, in every subgraph, and a second run adds nothing', async () => {
    expect(countsAtStart).toEqual({
      customers: 0,
      products: 0,
      stockRows: 0,
      warehouses: [],
      unitsAvailable: 0,
      ordersCatalogueCopies: 0,
    });
    await seed();
    const expected: DemoCounts = {
      customers: 1,
      products: DEMO_PRODUCTS.length,
      stockRows: DEMO_PRODUCTS.length * DEMO_WAREHOUSES.length,
      warehouses: [...DEMO_WAREHOUSES].sort(),
      unitsAvailable: DEMO_PRODUCTS.reduce((sum, p) => sum + p.stock.main + p.stock.north, 0),
      ordersCatalogueCopies: DEMO_PRODUCTS.length,
    };
    expect(await untilOrdersHaveTheCatalogue()).toEqual(expected);

    expect(await seed()).toEqual({
      productsCreated: 0,
      productsTotal: DEMO_PRODUCTS.length,
      customerCreated: false,
    });
    expect(await demoCounts()).toEqual(expected);

    // What a client sees: four categories of five, stock summed over both warehouses.
    const data = await client.data<{
      products: { totalCount: number; edges: { node: { stock: { available: number } } }[] };
    }>(
      '{ products(filter: { category: "coffee" }, first: 10) { totalCount edges { node { stock { available } } } } }',
    );
    expect(data.products.totalCount).toBe(5);
    expect(data.products.edges.every((e) => e.node.stock.available > 0)).toBe(true);
  });
});

describe('npm run demo', () => {
  it('confirms one order and shows a declined one cancelled and compensated, then exits 0', async () => {
    await seed();
    const run = spawn('npm', ['run', '--silent', 'demo'], {
      cwd: REPO_ROOT,
      env: { ...process.env, GATEWAY_URL: system.urls.gateway! },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    run.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    run.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));

    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('CONFIRMED') });
    // Each live status on its own line, with the product names and the payment status.
    for (const status of ['PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED'])
      expect(output).toMatch(new RegExp(`^ {2}${status}\\s+2 × .+, 1 × .+$`, 'm'));
    expect(output).toMatch(/^ {2}CONFIRMED\s+2 × .+, 1 × .+ {3}payment CAPTURED$/m);
    expect(output).toMatch(/^ {2}CANCELLED PAYMENT_DECLINED\s+1 × .+ {3}payment DECLINED$/m);
    expect(output).toContain('compensation: the reservation was released');
  });
});

describe('the Sandbox landing page', () => {
  it('loads in Chromium with its example operations, a CSP that lets the embed work, and live subscriptions', async () => {
    await seed();
    const token = await client.login(DEMO_CUSTOMER.email, DEMO_CUSTOMER.password);
    const [product] = (
      await client.data<{ products: { edges: { node: { id: string } }[] } }>(
        '{ products(filter: { category: "books" }, first: 1) { edges { node { id } } } }',
      )
    ).products.edges;
    const placed = await client.placeOrder(token, [{ productId: product!.node.id, quantity: 1 }]);
    const orderId = placed.data!.placeOrder.id;

    const page = await checkLandingPage(system.urls.gateway!, { token, orderId });

    expect(page.scriptErrors).toEqual([]);
    expect(page.cspViolations).toEqual([]);
    expect(page.embedFrameLoaded).toBe(true);
    const document = page.sandboxConfig.initialState.document;
    for (const name of EXAMPLE_OPERATION_NAMES)
      expect(document).toMatch(new RegExp(`^(query|mutation|subscription) ${name}\\b`, 'm'));
    expect(page.sandboxConfig.initialState.headers).toEqual({ Authorization: '' });
    // Sent as it is until a token is pasted in: an empty header is anonymous, not an error.
    const anonymous = await fetch(system.urls.gateway!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: '' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(await anonymous.json()).toEqual({ data: { me: null } });
    expect(page.sandboxConfig.initialEndpoint).toBe(system.urls.gateway);
    // The policy names where the embed's script and frame come from; connections are not limited.
    expect(page.csp).toMatch(/script-src [^;]*https:\/\/embeddable-sandbox\.cdn\.apollographql\.com/);
    expect(page.csp).toMatch(/frame-src [^;]*https:\/\/sandbox\.embed\.apollographql\.com/);
    expect(page.csp).not.toMatch(/(default|connect)-src/);
    // Sandbox subscribes from our page with graphql-ws, its headers as connection parameters.
    expect(page.subscriptionFirstEvent).toEqual({
      data: { orderStatusChanged: { id: orderId, items: [{ product: { id: product!.node.id } }] } },
    });
  });
});
