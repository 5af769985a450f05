// A subgraph that is down costs only its own fields: one system, each subgraph out in turn.
// With one out, the five-subgraph order query answers everything the other four contribute,
// with exactly one SUBGRAPH_UNAVAILABLE error naming the missing one; the gateway's breaker for
// it opens (metrics, /health/ready stays 200) and closes again once the subgraph is back. Also:
// a mutation whose subgraph is down fails with the same error, a client retrying placeOrder
// with one idempotency key gets exactly one order, and a subgraph answer that breaks the schema
// (a customer gone from the users database) is an error at its path.
//
// Inventory is killed (SIGKILL: connections refused) and restarted. The others are frozen
// (SIGSTOP: connections accepted, never answered, so the gateway's time limit ends each call)
// and thawed (SIGCONT), which costs no restart: the file stays fast and covers both ways a
// subgraph goes missing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../../test/support/system.ts';
import { Client, OrderEvents, type Loose } from '../support/client.ts';

/** Failures within the window that open a breaker: 2 by default, 1 for a frozen subgraph
 *  (each of its failures costs a whole time limit). */
const THRESHOLD = 2;
const FROZEN_THRESHOLD = 1;
/** The gateway's time limit per subgraph call: long enough for a loaded machine. */
const TIMEOUT_MS = 2000;
/** How long an open breaker fails calls at once. The query after the one that opens it must
 *  still find it open, so this is a loaded machine's margin: 300 ms was once missed in CI. The
 *  test waits out what is left of it after bringing the subgraph back. */
const COOLDOWN_MS = 2000;

let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;
let customer: { token: string; id: string };
let orderId: string;
let productId: string;

const ORDER_QUERY = `query($id: ID!) { order(id: $id) {
  status customer { name } items { product { name stock { available } } } payment { status } } }`;

/** The full answer, as every subgraph gives it. */
let full: Loose;

beforeAll(async () => {
  system = await startTestSystem({
    env: { RATE_LIMIT_PER_MINUTE: '100000' },
    processEnv: {
      gateway: {
        SUBGRAPH_TIMEOUT_MS: String(TIMEOUT_MS),
        BREAKER_FAILURE_THRESHOLD: String(THRESHOLD),
        ...Object.fromEntries(
          ['PAYMENTS', 'USERS', 'PRODUCTS', 'ORDERS'].map((name) => [
            `BREAKER_FAILURE_THRESHOLD_${name}`,
            String(FROZEN_THRESHOLD),
          ]),
        ),
        BREAKER_WINDOW_MS: '60000',
        BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      },
    },
  });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
  customer = await client.registerCustomer('Ada');
  const product = await client.createProduct(admin, { priceCents: 900, name: 'Blue mug', stock: 10 });
  productId = product.id;
  const placed = await client.placeOrder(customer.token, [{ productId, quantity: 2 }]);
  orderId = placed.data!.placeOrder.id;
  await events.until(orderId, ['CONFIRMED']);
  full = {
    order: {
      status: 'CONFIRMED',
      customer: { name: 'Ada' },
      items: [{ product: { name: 'Blue mug', stock: { available: 8 } } }],
      payment: { status: 'CAPTURED' },
    },
  };
  expect(await orderQuery()).toEqual({ data: full });
});

afterAll(async () => {
  await events?.close();
  await system?.dispose();
});

function orderQuery(): Promise<GraphQLResponse> {
  return client.request(ORDER_QUERY, { id: orderId }, customer.token);
}

/** The one error a response must carry while `service` is down. */
function unavailable(response: GraphQLResponse, service: string) {
  expect(response.errors?.map((e) => e.extensions)).toEqual([{ code: 'SUBGRAPH_UNAVAILABLE', service }]);
  expect(response.errors![0]!.message).toContain(service);
}

async function gatewayText(path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${system.process('gateway').baseUrl}${path}`);
  return { status: response.status, text: await response.text() };
}

/** A figure of the gateway's /metrics for one subgraph (undefined when it is not there). */
async function metric(name: string, subgraph: string, label = ''): Promise<number | undefined> {
  const { text } = await gatewayText('/metrics');
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`subgraph="${subgraph}"`) && l.includes(label));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/**
 * Takes `service` out (killed or frozen) until the returned function brings it back and waits
 * out the breaker's cool-down, so that the next query is its probe.
 */
async function takeOut(service: string, how: 'kill' | 'freeze'): Promise<() => Promise<void>> {
  let back: () => Promise<void>;
  if (how === 'kill') {
    await system.kill(service);
    back = () => system.restart(service);
  } else {
    const pid = system.process(service).pid!;
    process.kill(pid, 'SIGSTOP');
    back = async () => void process.kill(pid, 'SIGCONT');
  }
  return async () => {
    await back();
    for (let wait = await retryIn(service); wait > 0; wait = await retryIn(service))
      await new Promise((resolve) => setTimeout(resolve, wait));
  };
}

/** What the gateway's /health/ready says of the breaker of `service`. */
async function breaker(service: string): Promise<{ state: string; retryInMs?: number } | undefined> {
  const ready = await gatewayText('/health/ready');
  expect(ready.status).toBe(200);
  const checks = (JSON.parse(ready.text) as { checks: Loose[] }).checks;
  return checks.find((c) => c.name === 'subgraphs')?.detail?.[service];
}

/** Milliseconds until the open breaker of `service` lets its probe through (0: now). */
async function retryIn(service: string): Promise<number> {
  return (await breaker(service))?.retryInMs ?? 0;
}

/**
 * Takes `service` out, checks the query answers `expected` (each time with the one error) until
 * the breaker is open and once more after (failing at once), then brings it back and checks
 * that the next query, the breaker's probe, gets the full answer and closes the breaker.
 */
async function whileOut(
  service: string,
  how: 'kill' | 'freeze',
  expected: Loose,
  alsoWhileOut?: () => Promise<void>,
) {
  const openedBefore = (await metric('gateway_subgraph_breaker_opened_total', service)) ?? 0;
  const bringBack = await takeOut(service, how);
  try {
    const threshold = how === 'kill' ? THRESHOLD : FROZEN_THRESHOLD;
    for (let i = 0; i <= threshold; i++) {
      const response = await orderQuery();
      expect(response.data).toEqual(expected);
      unavailable(response, service);
    }
    expect(await metric('gateway_subgraph_breaker_state', service)).toBe(2);
    expect(await metric('gateway_subgraph_breaker_opened_total', service)).toBe(openedBefore + 1);
    // The last query was failed by the open breaker, without calling the subgraph.
    expect(
      await metric('gateway_subgraph_unavailable_total', service, 'reason="breaker-open"'),
    ).toBeGreaterThan(0);
    // The gateway still answers what it can: it stays ready (200), and says which breaker is open.
    expect((await breaker(service))?.state).toBe('open');
    await alsoWhileOut?.();
  } finally {
    await bringBack();
  }
  // The probe: it closes the breaker.
  expect(await orderQuery()).toEqual({ data: full });
  expect(await metric('gateway_subgraph_breaker_state', service)).toBe(0);
}

describe('one subgraph down at a time', () => {
  it('inventory: only stock is null', async () => {
    const stockless = structuredClone(full);
    stockless.order.items[0].product.stock = null;
    await whileOut('inventory', 'kill', stockless, async () => {
      const products = await client.request(
        '{ products(first: 1) { edges { node { name stock { available } } } } }',
      );
      expect(products.data?.products.edges[0].node).toEqual({ name: expect.any(String), stock: null });
      unavailable(products, 'inventory');
    });
  });

  it('payments: only payment is null', async () => {
    await whileOut('payments', 'freeze', { order: { ...full.order, payment: null } });
  });

  it('users: only customer is null', async () => {
    await whileOut('users', 'freeze', { order: { ...full.order, customer: null } });
  });

  it('products: each product is null', async () => {
    await whileOut('products', 'freeze', { order: { ...full.order, items: [{ product: null }] } });
  });

  it('orders: the order is null, and placeOrder fails with the same error', async () => {
    await whileOut('orders', 'freeze', { order: null }, async () => {
      const placed = await client.placeOrder(customer.token, [{ productId, quantity: 1 }]);
      expect(placed.data ?? null).toBeNull();
      unavailable(placed, 'orders');
    });
  });
});

describe('placeOrder retried with one idempotency key', () => {
  it('makes exactly one order, however the retries overlap', async () => {
    const buyer = await client.registerCustomer();
    const key = `retry-${randomBytes(6).toString('hex')}`;
    const product = await client.createProduct(admin, { priceCents: 500, stock: 10 });
    const items = [{ productId: product.id, quantity: 1 }];
    // The first attempt's answer is lost: the client gives up on it at once.
    const lost = fetch(system.urls.gateway!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer.token}` },
      body: JSON.stringify({
        query: 'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }',
        variables: { i: { items, paymentMethod: 'pm_card_visa', idempotencyKey: key } },
      }),
      signal: AbortSignal.timeout(5),
    }).catch(() => undefined);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => client.placeOrder(buyer.token, items, 'pm_card_visa', key)),
    );
    await lost;
    const later = [
      await client.placeOrder(buyer.token, items, 'pm_card_visa', key),
      await client.placeOrder(buyer.token, items, 'pm_card_visa', key),
    ];
    const ids = new Set([...concurrent, ...later].map((r) => r.data?.placeOrder.id));
    expect([...ids]).toHaveLength(1);
    expect(ids.has(undefined)).toBe(false);

    const mine = await client.data<{ myOrders: { totalCount: number } }>(
      '{ myOrders { totalCount } }',
      undefined,
      buyer.token,
    );
    expect(mine.myOrders.totalCount).toBe(1);
  });
});

describe('a subgraph answer that breaks the schema', () => {
  it('a customer the users subgraph no longer has: an error at its path, no internal extension', async () => {
    const gone = await client.registerCustomer('Grace');
    const product = await client.createProduct(admin, { priceCents: 300, stock: 5 });
    const placed = await client.placeOrder(gone.token, [{ productId: product.id, quantity: 1 }]);
    const id = placed.data!.placeOrder.id as string;
    // Removed behind the API's back (the API has no way to delete a user): Order.customer is
    // `User!`, and the users subgraph now resolves the reference to null without an error.
    const users = new URL(system.databaseUrl);
    users.pathname = `/${system.id}_users`;
    const db = new pg.Client({ connectionString: users.toString() });
    await db.connect();
    try {
      expect((await db.query('delete from users where id = $1', [gone.id])).rowCount).toBe(1);
    } finally {
      await db.end();
    }

    const response = await client.request(
      'query($id: ID!) { order(id: $id) { id customer { name } } }',
      { id },
      admin,
    );
    expect(response.data).toEqual({ order: { id, customer: null } });
    expect(response.errors).toEqual([
      {
        message: 'Internal server error',
        path: ['order', 'customer', 'name'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect(response).not.toHaveProperty('extensions');
  });
});
