// Identical subgraph fetches in flight at the same time share one call (SUBGRAPH_DEDUP, on by
// default), through the real gateway and subgraphs. To have every request in flight together, a
// subgraph is frozen (SIGSTOP: it accepts connections and answers nothing) until the gateway's
// gateway_subgraph_fetches_total says each request has fetched from it, then thawed (SIGCONT);
// how many calls really reached the subgraph is read from the subgraph's own /metrics.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents, type Loose } from './support/client.ts';
import { metricSum } from './support/metrics.ts';

/** Payments' time limit: the failure test waits it out once. */
const PAYMENTS_TIMEOUT_MS = 3000;

let system: TestSystem;
let client: Client;
let admin: string;
let customer: { token: string; id: string };
let orderId: string;

const ORDER_QUERY = `query($id: ID!) { order(id: $id) {
  status customer { name } items { quantity product { name stock { available } } } payment { status } } }`;

let full: Loose;

beforeAll(async () => {
  system = await startTestSystem({
    env: { RATE_LIMIT_PER_MINUTE: '100000' },
    processEnv: {
      gateway: {
        SUBGRAPH_TIMEOUT_MS_PAYMENTS: String(PAYMENTS_TIMEOUT_MS),
        BREAKER_FAILURE_THRESHOLD_PAYMENTS: '2',
        BREAKER_WINDOW_MS_PAYMENTS: '60000',
      },
    },
  });
  client = new Client(system.urls.gateway!);
  const events = await OrderEvents.listen(system);
  try {
    admin = await client.adminToken();
    customer = await client.registerCustomer('Ada');
    const product = await client.createProduct(admin, { priceCents: 900, name: 'Blue mug', stock: 10 });
    const placed = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]);
    orderId = placed.data!.placeOrder.id;
    await events.until(orderId, ['CONFIRMED']);
  } finally {
    await events.close();
  }
  full = {
    order: {
      status: 'CONFIRMED',
      customer: { name: 'Ada' },
      items: [{ quantity: 2, product: { name: 'Blue mug', stock: { available: 8 } } }],
      payment: { status: 'CAPTURED' },
    },
  };
  expect(await orderQuery(customer.token)).toEqual({ data: full });
});

afterAll(async () => {
  await system?.dispose();
});

function orderQuery(token: string): Promise<GraphQLResponse> {
  return client.request(ORDER_QUERY, { id: orderId }, token);
}

/** The sum of the /metrics lines of `service` named `name` that carry every one of `labels`. */
function metric(service: string, name: string, labels: readonly string[] = []): Promise<number> {
  return metricSum(system.process(service).baseUrl, name, ...labels);
}

/** The gateway's fetches from `subgraph`: its own calls and those that joined one in flight. */
async function fetches(subgraph: string): Promise<{ own: number; shared: number }> {
  const count = (shared: boolean) =>
    metric('gateway', 'gateway_subgraph_fetches_total', [`subgraph="${subgraph}"`, `shared="${shared}"`]);
  return { own: await count(false), shared: await count(true) };
}

/** Operations of one kind (`query.order`, `mutation.setStock`) that `service` executed. */
function executed(service: string, operation: string): Promise<number> {
  return metric(service, 'graphql_operations_total', [`operation="${operation}"`]);
}

/**
 * Sends `requests` while `subgraph` is frozen and waits until the gateway has made one fetch
 * from it for each; then thaws it, or (`thaw: 'after-answers'`) keeps it frozen until every
 * request is answered (the gateway's time limit ends the calls). Returns the answers and the
 * gateway's fetches from `subgraph` meanwhile: its own calls and those that joined one.
 */
async function togetherAt<T>(
  subgraph: string,
  requests: (() => Promise<T>)[],
  thaw: 'after-fetches' | 'after-answers' = 'after-fetches',
): Promise<{ answers: T[]; own: number; shared: number }> {
  const before = await fetches(subgraph);
  const pid = system.process(subgraph).pid!;
  process.kill(pid, 'SIGSTOP');
  let answers: T[];
  try {
    const pending = Promise.all(requests.map((request) => request()));
    const expected = before.own + before.shared + requests.length;
    for (let now = await fetches(subgraph); now.own + now.shared < expected; now = await fetches(subgraph))
      await new Promise((resolve) => setTimeout(resolve, 10));
    if (thaw === 'after-fetches') process.kill(pid, 'SIGCONT');
    answers = await pending;
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const after = await fetches(subgraph);
  return { answers, own: after.own - before.own, shared: after.shared - before.shared };
}

describe('identical fetches in flight together', () => {
  it('reach the subgraph once, and every request gets the whole answer', async () => {
    const executedBefore = await executed('orders', 'query.order');
    const { answers, own, shared } = await togetherAt(
      'orders',
      Array.from({ length: 8 }, () => () => orderQuery(customer.token)),
    );
    for (const answer of answers) expect(answer).toEqual({ data: full });
    expect({ own, shared }).toEqual({ own: 1, shared: 7 });
    expect((await executed('orders', 'query.order')) - executedBefore).toBe(1);
  });

  it('are never shared between two users', async () => {
    const other = await client.registerCustomer('Bob');
    // Alone, Bob learns nothing of Ada's order.
    const bobAlone = await orderQuery(other.token);
    expect(bobAlone).toEqual({ data: { order: null } });

    const executedBefore = await executed('orders', 'query.order');
    const tokens = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? customer.token : other.token));
    const { answers, own, shared } = await togetherAt(
      'orders',
      tokens.map((token) => () => orderQuery(token)),
    );
    answers.forEach((answer, i) => expect(answer).toEqual(i % 2 === 0 ? { data: full } : bobAlone));
    // One call per user, each shared by that user's own requests only.
    expect({ own, shared }).toEqual({ own: 2, shared: 6 });
    expect((await executed('orders', 'query.order')) - executedBefore).toBe(2);
  });

  it('are never shared for mutations', async () => {
    const product = await client.createProduct(admin, { priceCents: 500, stock: 1 });
    const executedBefore = await executed('inventory', 'mutation.setStock');
    const { answers, own, shared } = await togetherAt(
      'inventory',
      Array.from(
        { length: 4 },
        () => () =>
          client.request(
            'mutation($p: ID!) { setStock(productId: $p, available: 7) { available } }',
            { p: product.id },
            admin,
          ),
      ),
    );
    for (const answer of answers) expect(answer).toEqual({ data: { setStock: { available: 7 } } });
    expect({ own, shared }).toEqual({ own: 4, shared: 0 });
    expect((await executed('inventory', 'mutation.setStock')) - executedBefore).toBe(4);
  });
});

describe('a shared fetch that fails', () => {
  it('fails each waiter with SUBGRAPH_UNAVAILABLE and counts once against the breaker', async () => {
    const timeoutsBefore = await metric('gateway', 'gateway_subgraph_unavailable_total', [
      'subgraph="payments"',
      'reason="timeout"',
    ]);
    // Payments stays frozen past the gateway's time limit: the one call times out.
    const { answers, own, shared } = await togetherAt(
      'payments',
      Array.from({ length: 5 }, () => () => orderQuery(customer.token)),
      'after-answers',
    );
    expect({ own, shared }).toEqual({ own: 1, shared: 4 });
    for (const answer of answers) {
      expect(answer.data).toEqual({ order: { ...full.order, payment: null } });
      expect(answer.errors?.map((e) => e.extensions)).toEqual([
        { code: 'SUBGRAPH_UNAVAILABLE', service: 'payments' },
      ]);
    }
    // Every waiter's answer counts as a failed call in /metrics ...
    expect(
      (await metric('gateway', 'gateway_subgraph_unavailable_total', [
        'subgraph="payments"',
        'reason="timeout"',
      ])) - timeoutsBefore,
    ).toBe(5);
    // ... but the breaker (threshold 2) saw one call fail, and stays closed.
    const ready = (await (await fetch(`${system.process('gateway').baseUrl}/health/ready`)).json()) as {
      checks: Loose[];
    };
    expect(ready.checks.find((c) => c.name === 'subgraphs')?.detail?.payments).toEqual({
      state: 'closed',
      failures: 1,
    });
    expect(await orderQuery(customer.token)).toEqual({ data: full });
  });
});
