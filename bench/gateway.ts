// The read path, side by side: `npm run bench:gateway [-- --rounds 3 --seconds 10 --warm-up 5
// --connections 20 --orders 40]`.
//
// Starts the whole system on free ports (its own databases and NATS namespace), composes one
// supergraph file with those ports, serves it with our gateway and with Hive Gateway (installed
// into bench/peers/ on first use), places <orders> orders for 10 customers and waits until each
// is CONFIRMED. Then, after a warm-up round, runs <rounds> rounds; each round runs every
// scenario for <seconds> against each gateway, in alternating order, from <connections>
// connections (closed loop):
//   order, same        the five-subgraph order query, one order, its customer's token
//   order, 40 orders   the same query over <orders> orders, each with its customer's token
//   catalogue          a page of 20 products with price and stock, signed in
//   anonymous          one product with price and stock, no token
// and the slowest subgraph directly (orders, with a service token and the customer's token):
// one order (`order(id) { id status items { quantity } }`) and `{ __typename }`.
// Every answer is checked before timing (both gateways must answer the same, with no errors).
//
// Prints per scenario and target: requests/s (all rounds, and the lowest and highest round),
// p50 and p99 latency, the ratio to Hive Gateway, subgraph requests per client request (from the
// subgraphs' own /metrics), and CPU time per request of the gateway process (with anything it
// forked) and of the five subgraphs together (/proc/<pid>/stat). Our gateway's settings come
// from the environment: `SUBGRAPH_DEDUP=false npm run bench:gateway` measures it without
// shared fetches. Loopback only; figures, never pass/fail.
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServiceHeaders } from '../shared/auth/service-identity.ts';
import { composeSupergraph } from '../scripts/compose-supergraph.ts';
import { freePort } from '../scripts/lib/ports.ts';
import { PROCESSES, SUBGRAPHS, type ProcessName } from '../scripts/lib/services.ts';
import type { TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents } from '../e2e/support/client.ts';
import { wholeNumberOption } from './lib/options.ts';
import { startHiveGateway, type RunningPeer } from './lib/hive-gateway.ts';
import { runLoad, type LoadRequest } from './lib/load.ts';
import { processTreeCpuMs } from './lib/process-cpu.ts';
import { markdown, percentile } from './lib/report.ts';
import { createProducts, registerCustomers, startBenchSystem } from './lib/system.ts';
import { metricSum } from '../e2e/support/metrics.ts';

const ORDER_QUERY = `query Q($id: ID!) { order(id: $id) { id status customer { name } items { quantity product { name stock { available } } } payment { status } } }`;
const CATALOGUE_QUERY = `{ products(first: 20) { edges { node { id name price { amountCents } stock { available } } } } }`;
const PRODUCT_QUERY = `query P($id: ID!) { product(id: $id) { id name price { amountCents } stock { available } } }`;
const DIRECT_ORDER_QUERY = `query($id: ID!) { order(id: $id) { id status items { quantity } } }`;
const CUSTOMERS = 10;

interface Settings {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmUp: number;
  readonly connections: number;
  readonly orders: number;
}

type Target = 'ours' | 'hive' | 'orders';

interface Scenario {
  readonly name: string;
  readonly targets: readonly Target[];
  /** The next request of this scenario (round robin over its variants). */
  readonly next: () => LoadRequest;
  /** Whether an answer has everything (a gateway that forwards no token answers null fast). */
  readonly complete: (data: Record<string, unknown>) => boolean;
}

interface Tally {
  requests: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  latenciesMs: number[];
  roundRates: number[];
  subgraphRequests: number;
  gatewayCpuMs: number;
  subgraphCpuMs: number;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '10' },
      'warm-up': { type: 'string', default: '5' },
      connections: { type: 'string', default: '20' },
      orders: { type: 'string', default: '40' },
    },
  });
  const number = (name: keyof typeof values, min: number) => wholeNumberOption(values, name, min);
  return {
    rounds: number('rounds', 0),
    seconds: number('seconds', 1),
    warmUp: number('warm-up', 0),
    connections: number('connections', 1),
    orders: number('orders', 1),
  };
}

/** Round robin over `requests`. */
function cycle(requests: readonly LoadRequest[]): () => LoadRequest {
  let i = 0;
  return () => requests[i++ % requests.length]!;
}

const body = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Requests the five subgraphs have answered at /graphql so far, from their /metrics. */
async function subgraphRequests(system: TestSystem): Promise<number> {
  const counts = await Promise.all(
    SUBGRAPHS.map((name) =>
      metricSum(system.process(name).baseUrl, 'http_request_duration_seconds_count', 'route="/graphql"'),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function subgraphsCpuMs(system: TestSystem): Promise<number> {
  const each = await Promise.all(SUBGRAPHS.map((name) => processTreeCpuMs(system.process(name).pid!)));
  return each.reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const settings = readSettings();
  // One supergraph file for both gateways: the system's ports are chosen before it starts.
  const ports = Object.fromEntries(
    await Promise.all(PROCESSES.map(async (name) => [name, await freePort()] as const)),
  ) as Record<ProcessName, number>;
  const supergraphPath = path.join(os.tmpdir(), `supergraph-bench-gateway-${process.pid}.graphql`);
  const urls = Object.fromEntries(SUBGRAPHS.map((name) => [name, `http://127.0.0.1:${ports[name]}/graphql`]));
  await writeFile(supergraphPath, await composeSupergraph(urls));

  let system: TestSystem | undefined;
  let hive: RunningPeer | undefined;
  const stop = () =>
    void Promise.allSettled([hive?.stop(), system?.dispose()]).finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    system = await startBenchSystem({ ports, supergraphPath });
    hive = await startHiveGateway({
      supergraphPath,
      port: await freePort(),
      env: { ...system.env, PORT: undefined, HOST: undefined },
    });
    const scenarios = await prepare(system, settings);
    const gateways: Record<Target, { url: string; pid: number | undefined }> = {
      ours: { url: system.urls.gateway!, pid: system.process('gateway').pid },
      hive: { url: hive.url, pid: hive.pid },
      orders: { url: system.urls.subgraphs.orders!, pid: undefined },
    };
    await checkAnswers(scenarios, gateways);

    const tallies = new Map<string, Tally>();
    const runOnce = async (scenario: Scenario, target: Target, seconds: number, record: boolean) => {
      const { url, pid } = gateways[target];
      const before = {
        subgraph: await subgraphRequests(system!),
        gatewayCpu: pid ? await processTreeCpuMs(pid) : 0,
        subgraphCpu: await subgraphsCpuMs(system!),
      };
      const result = await runLoad(url, scenario.next, { connections: settings.connections, seconds });
      if (!record) return;
      const key = `${scenario.name}\u0000${target}`;
      const tally = tallies.get(key) ?? emptyTally();
      tally.requests += result.requests;
      tally.errors += result.errors;
      tally.firstError ??= result.firstError;
      tally.seconds += result.seconds;
      // One by one: a round's latencies can outnumber what a spread call may pass as arguments.
      for (const latency of result.latenciesMs) tally.latenciesMs.push(latency);
      tally.roundRates.push(result.requests / result.seconds);
      tally.subgraphRequests += (await subgraphRequests(system!)) - before.subgraph;
      tally.gatewayCpuMs += pid ? (await processTreeCpuMs(pid)) - before.gatewayCpu : 0;
      tally.subgraphCpuMs += (await subgraphsCpuMs(system!)) - before.subgraphCpu;
      tallies.set(key, tally);
    };

    const round = async (index: number, seconds: number, record: boolean) => {
      for (const scenario of scenarios) {
        const targets = index % 2 === 0 ? scenario.targets : [...scenario.targets].reverse();
        for (const target of targets) await runOnce(scenario, target, seconds, record);
      }
    };
    if (settings.warmUp > 0) {
      console.log(`warm-up: every scenario for ${settings.warmUp} s`);
      await round(0, settings.warmUp, false);
    }
    for (let r = 1; r <= settings.rounds; r++) {
      console.log(`round ${r} of ${settings.rounds}`);
      await round(r, settings.seconds, true);
    }
    report(settings, hive.version, scenarios, tallies);
  } finally {
    process.removeListener('SIGINT', stop);
    await Promise.allSettled([hive?.stop(), system?.dispose(), rm(supergraphPath, { force: true })]);
  }
}

function emptyTally(): Tally {
  return {
    requests: 0,
    errors: 0,
    firstError: undefined,
    seconds: 0,
    latenciesMs: [],
    roundRates: [],
    subgraphRequests: 0,
    gatewayCpuMs: 0,
    subgraphCpuMs: 0,
  };
}

/** Products, customers and confirmed orders; the scenarios over them. */
async function prepare(system: TestSystem, settings: Settings): Promise<Scenario[]> {
  const client = new Client(system.urls.gateway!);
  const admin = await client.adminToken();
  const products = await createProducts(client, admin, 20, 1_000_000);
  const customers = await registerCustomers(client, CUSTOMERS);
  const events = await OrderEvents.listen(system);
  const orders: { id: string; token: string }[] = [];
  try {
    for (let i = 0; i < settings.orders; i++) {
      const token = customers[i % CUSTOMERS]!;
      const items = [0, 1].map((k) => ({ productId: products[(i + k) % products.length]!, quantity: 1 }));
      const placed = await client.placeOrder(token, items);
      const id = placed.data?.placeOrder.id;
      if (!id) throw new Error(`placeOrder failed: ${JSON.stringify(placed.errors)}`);
      orders.push({ id, token });
    }
    await Promise.all(orders.map((o) => events.until(o.id, ['CONFIRMED'])));
  } finally {
    await events.close();
  }
  console.log(`${orders.length} orders confirmed, ${products.length} products, ${CUSTOMERS} customers`);

  const orderRequest = (o: { id: string; token: string }): LoadRequest => ({
    body: body(ORDER_QUERY, { id: o.id }),
    headers: bearer(o.token),
  });
  const first = orders[0]!;
  const serviceHeaders = createServiceHeaders(system.env.SERVICE_SECRET, 'gateway');
  // The direct scenarios' service token: it lives a minute, so it is renewed as the bench runs.
  let direct: Record<string, string> = {};
  const directRequest = (query: string, variables?: Record<string, unknown>): (() => LoadRequest) => {
    const text = body(query, variables);
    return () => ({ body: text, headers: { ...bearer(first.token), ...direct } });
  };
  const renew = async () => (direct = await serviceHeaders('orders'));
  await renew();
  const renewal = setInterval(() => void renew(), 15_000);
  renewal.unref();

  const fullOrder = (data: Record<string, unknown>) => {
    const order = data.order as {
      customer?: unknown;
      payment?: unknown;
      items?: { product?: { stock?: unknown } }[];
    };
    return Boolean(order?.customer && order.payment && order.items?.every((i) => i.product?.stock));
  };
  const gatewaysOnly: Target[] = ['ours', 'hive'];
  return [
    { name: 'order, same', targets: gatewaysOnly, next: cycle([orderRequest(first)]), complete: fullOrder },
    {
      name: `order, ${orders.length} orders`,
      targets: gatewaysOnly,
      next: cycle(orders.map(orderRequest)),
      complete: fullOrder,
    },
    {
      name: 'catalogue',
      targets: gatewaysOnly,
      next: cycle([{ body: body(CATALOGUE_QUERY), headers: bearer(first.token) }]),
      complete: (data) =>
        (data.products as { edges: { node: { stock: unknown } }[] }).edges.every((e) => e.node.stock),
    },
    {
      name: 'anonymous',
      targets: gatewaysOnly,
      next: cycle([{ body: body(PRODUCT_QUERY, { id: products[0] }), headers: {} }]),
      complete: (data) => Boolean((data.product as { stock?: unknown } | null)?.stock),
    },
    {
      name: 'orders subgraph: one order',
      targets: ['orders'],
      next: directRequest(DIRECT_ORDER_QUERY, { id: first.id }),
      complete: (data) => Boolean(data.order),
    },
    {
      name: 'orders subgraph: { __typename }',
      targets: ['orders'],
      next: directRequest('{ __typename }'),
      complete: (data) => data.__typename === 'Query',
    },
  ];
}

/** Each scenario's first request to each target: complete, no errors, the same from both gateways. */
async function checkAnswers(
  scenarios: readonly Scenario[],
  gateways: Record<Target, { url: string }>,
): Promise<void> {
  for (const scenario of scenarios) {
    const request = scenario.next();
    const answers = await Promise.all(
      scenario.targets.map(async (target) => {
        const response = await fetch(gateways[target].url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...request.headers },
          body: request.body,
        });
        const text = await response.text();
        const parsed = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown };
        if (response.status !== 200 || parsed.errors || !parsed.data || !scenario.complete(parsed.data))
          throw new Error(
            `${scenario.name} via ${target} answered ${response.status}: ${text.slice(0, 500)}`,
          );
        return JSON.stringify(parsed.data);
      }),
    );
    if (new Set(answers).size > 1)
      throw new Error(`${scenario.name}: the gateways answer differently:\n${answers.join('\n')}`);
  }
  console.log('every scenario answers completely, the same from both gateways');
}

function report(
  settings: Settings,
  hiveVersion: string,
  scenarios: readonly Scenario[],
  tallies: Map<string, Tally>,
) {
  const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
  console.log(
    `\n${new Date().toISOString()}, ${os.availableParallelism()} cores; ${settings.rounds} rounds of ` +
      `${settings.seconds} s per scenario and target, ${settings.connections} connections; ` +
      `our gateway with SUBGRAPH_DEDUP=${process.env.SUBGRAPH_DEDUP ?? 'true (default)'}; ` +
      `Hive Gateway ${hiveVersion}\n`,
  );
  const names: Record<Target, string> = { ours: 'ours', hive: 'Hive Gateway', orders: 'orders subgraph' };
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    const hive = tallies.get(`${scenario.name}\u0000hive`);
    for (const target of scenario.targets) {
      const t = tallies.get(`${scenario.name}\u0000${target}`);
      if (!t) continue;
      const rate = t.requests / t.seconds;
      const sorted = [...t.latenciesMs].sort((a, b) => a - b);
      rows.push([
        scenario.name,
        names[target],
        fixed(rate),
        `${fixed(Math.min(...t.roundRates))}–${fixed(Math.max(...t.roundRates))}`,
        fixed(percentile(sorted, 50), 1),
        fixed(percentile(sorted, 99), 1),
        hive && target !== 'hive' && target !== 'orders'
          ? `${fixed(rate / (hive.requests / hive.seconds), 2)}×`
          : '',
        fixed(t.subgraphRequests / t.requests, 2),
        target === 'orders' ? '' : fixed(t.gatewayCpuMs / t.requests, 2),
        fixed(t.subgraphCpuMs / t.requests, 2),
        t.errors ? `${t.errors} (${t.firstError})` : '0',
      ]);
    }
  }
  console.log(
    markdown(
      [
        'scenario',
        'target',
        'req/s',
        'rounds',
        'p50 ms',
        'p99 ms',
        'vs Hive',
        'subgraph req / req',
        'gateway CPU ms / req',
        'subgraphs CPU ms / req',
        'errors',
      ],
      rows,
    ),
  );
}

await main();
