// Faults mid-saga: while customers keep placing (and sometimes cancelling) orders, inventory,
// payments and orders are each SIGKILLed and restarted, and NATS is restarted once. Afterwards
// every order has settled and the saga's invariants hold on the subgraphs' own databases.
//
// NATS here is a private nats-server on a free port with its own store directory, so restarting
// it disturbs no other test; JetStream's file storage keeps the streams across the restart.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureInfrastructure, type Infrastructure } from '../scripts/lib/infra.ts';
import { freePort } from '../scripts/lib/ports.ts';
import { DEFAULT_DATABASE_URL } from '../scripts/lib/services.ts';
import { startTestSystem, testId, type TestSystem } from '../test/support/system.ts';
import { Client } from './support/client.ts';
import { SystemDatabases, checkInvariants, deadLetters, waitUntilQuiet } from './faults.invariants.ts';

const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 100_000);
const LOAD_MS = 36_000;
const ORDERS_PER_SECOND = 8;
const CUSTOMERS = 10;
const PRODUCTS = [
  { priceCents: 1250, stock: 90 },
  { priceCents: 499, stock: 90 },
  { priceCents: 2000, stock: 60 },
  { priceCents: 75, stock: 120 },
];
const CARDS = [
  ...Array<string>(7).fill('pm_card_visa'),
  'pm_card_chargeDeclined',
  'pm_card_chargeDeclined',
  'pm_card_flaky',
  'pm_card_flaky',
];

/** Reproducible choices: the seed is printed, FAULTS_SEED replays a run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let tmp: string;
let natsUrl: string;
let nats: Infrastructure | undefined;
let system: TestSystem | undefined;
let dbs: SystemDatabases | undefined;
const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;

const systemId = testId();

/** The private NATS, with a user per process; restarted with the same passwords. */
async function startNats(): Promise<Infrastructure> {
  const infra = await ensureInfrastructure({
    databaseUrl,
    natsUrl,
    dataDir: tmp,
    natsNamespace: systemId,
    natsCredentials: nats?.natsCredentials,
  });
  if (!infra.started.nats) throw new Error(`something else answers on ${natsUrl}`);
  return infra;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'faults-'));
  natsUrl = `nats://127.0.0.1:${await freePort()}`;
  nats = await startNats();
  system = await startTestSystem({
    id: systemId,
    natsUrl,
    natsCredentials: nats.natsCredentials,
    env: {
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_BURST: '100000',
      // Shorter than a killed consumer's ack wait (15 s), so some orders time out and their late
      // replies meet a cancelled order: the compensations are exercised too.
      SAGA_STEP_TIMEOUT_MS: '8000',
    },
  });
  dbs = await SystemDatabases.open(system);
}, 120_000);

afterAll(async () => {
  await dbs?.close();
  await system?.dispose();
  await nats?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

describe('faults mid-saga', () => {
  it('settles every order and keeps stock, money and messages exact through kills and a NATS restart', async () => {
    const sys = system!;
    const db = dbs!;
    const rand = random(SEED);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
    const client = new Client(sys.urls.gateway!);
    const admin = await client.adminToken();
    const products = await Promise.all(
      PRODUCTS.map((p) => client.createProduct(admin, { priceCents: p.priceCents, stock: p.stock })),
    );
    const initialStock = new Map(products.map((p, i) => [p.id, PRODUCTS[i]!.stock]));
    const customers = await Promise.all(Array.from({ length: CUSTOMERS }, () => client.registerCustomer()));

    const placed: string[] = [];
    const failures: string[] = [];
    let cancels = 0;

    /** Places one order; retries with the same idempotency key while a service is down. */
    async function order(n: number): Promise<void> {
      const customer = pick(customers);
      const lines = new Map<string, number>();
      for (let i = 0, count = 1 + Math.floor(rand() * 2); i < count; i++) {
        const product = pick(products);
        lines.set(product.id, (lines.get(product.id) ?? 0) + 1 + Math.floor(rand() * 3));
      }
      const items = [...lines].map(([productId, quantity]) => ({ productId, quantity }));
      const card = pick(CARDS);
      const cancelAfterMs = rand() < 0.12 ? Math.floor(rand() * 600) : undefined;
      const key = `faults-${SEED}-${n}`;
      const deadline = Date.now() + 40_000;
      let id: string | undefined;
      let lastError = '';
      while (!id && Date.now() < deadline) {
        try {
          const response = await client.placeOrder(customer.token, items, card, key);
          id = response.data?.placeOrder.id;
          if (!id) lastError = JSON.stringify(response.errors);
        } catch (err) {
          lastError = String(err);
        }
        if (!id) await sleep(250);
      }
      if (!id) {
        failures.push(`order ${n}: ${lastError}`);
        return;
      }
      placed.push(id);
      if (cancelAfterMs !== undefined) {
        await sleep(cancelAfterMs);
        const response = await client
          .request('mutation($id: ID!) { cancelOrder(id: $id) { status } }', { id }, customer.token)
          .catch(() => undefined);
        if (response?.data) cancels += 1;
      }
    }

    // Open loop: an order every 1/rate seconds, whatever the ones before are doing.
    const started = Date.now();
    const total = Math.round((LOAD_MS / 1000) * ORDERS_PER_SECOND);
    const load = (async () => {
      const running: Promise<void>[] = [];
      for (let n = 0; n < total; n++) {
        const due = started + (n * 1000) / ORDERS_PER_SECOND;
        if (due > Date.now()) await sleep(due - Date.now());
        running.push(order(n));
      }
      await Promise.all(running);
    })();

    /** Kills `id` as soon as orders are waiting on it (mid-saga), then restarts it. */
    const faults: string[] = [];
    async function killMidSaga(at: number, id: string, waitingIn: string[]): Promise<void> {
      if (Date.now() < started + at) await sleep(started + at - Date.now());
      const until = Date.now() + 5000;
      let waiting = await db.inFlight(waitingIn);
      while (waiting === 0 && Date.now() < until) {
        await sleep(5);
        waiting = await db.inFlight(waitingIn);
      }
      await sys.kill(id, 'SIGKILL');
      const down = Date.now();
      await sleep(500);
      await sys.restart(id);
      faults.push(
        `${id}: SIGKILL with ${waiting} orders ${waitingIn.join('/')}, back in ${Date.now() - down} ms`,
      );
    }
    await killMidSaga(5_000, 'inventory', ['PENDING']);
    await killMidSaga(12_000, 'payments', ['INVENTORY_RESERVED']);
    await killMidSaga(19_000, 'orders', ['PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED']);
    if (Date.now() < started + 26_000) await sleep(started + 26_000 - Date.now());
    const waiting = await db.inFlight();
    await nats!.stop();
    const down = Date.now();
    await sleep(1000);
    nats = await startNats();
    faults.push(`nats: restarted with ${waiting} orders in flight, back in ${Date.now() - down} ms`);

    await load;
    const loadDone = Date.now();
    await waitUntilQuiet(sys, db, 90_000);
    const settledMs = Date.now() - loadDone;

    const report = await checkInvariants(db, initialStock);
    const letters = await deadLetters(sys);
    console.log(
      [
        `faults (seed ${SEED}): ${placed.length} orders placed, ${cancels} cancelled by their customer, settled ${settledMs} ms after the load`,
        ...faults,
        `outcomes: ${JSON.stringify(report.byOutcome)}`,
        `captured ${report.capturedCents} cents, refunded ${report.refundedCents} cents`,
        `dead letters: ${letters.length}`,
        ...letters.map((l) => `  ${l.subject}: ${l.error}`),
      ].join('\n'),
    );
    expect(failures).toEqual([]);
    expect(report.problems).toEqual([]);
    // Every order the customers got back is in the books (none lost, none extra).
    expect(report.orders).toBe(new Set(placed).size);
    expect(placed.length).toBe(total);
    expect(report.byOutcome.CONFIRMED).toBeGreaterThan(0);
  }, 180_000);
});
