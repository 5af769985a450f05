// What one request costs a subgraph: `npm run bench:subgraph [-- --rounds 3 --seconds 5
// --connections 20 --orders 40 --profile DIR]`.
//
// Starts the whole system on free ports (its own databases and NATS namespace, as the tests do),
// places `--orders` orders for one customer, then drives the orders subgraph directly (not
// through the gateway) with the benches' load driver (bench/lib/load.ts, as bench:gateway),
// `--connections` keep-alive connections, in alternating rounds of: `{ __typename }` (the
// server's floor: HTTP, Apollo, service token); the one-order query for the same order every
// time (the issue's figure: the same plus the customer's token, graphql-shield and the data
// access); and the one-order query over all the placed orders in turn (each request another
// order, as the gateway's 40-orders scenario). Each request carries what the gateway sends: the
// customer's bearer token and a service token addressed to orders.
//
// Prints requests/s, p50 and p99 per round and for all rounds of each query, the ratio of each
// one-order rate to `{ __typename }`'s (the issue's target: at least 0.5), and the subgraph's
// CPU time per request (from /proc/<pid>/stat). With `--profile DIR` the orders process runs
// with `--cpu-prof` and writes its profile into DIR when the bench stops it (summarise it with
// `node bench/lib/cpu-profile.ts DIR/<file>.cpuprofile --last 5`: the last round's). The
// profile samples wall time: a thread the kernel put aside in a system call (a socket write
// that wakes PostgreSQL, on a busy machine) shows there as that call's time, not as CPU.
// Figures, never pass/fail; not run in CI.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '../e2e/support/client.ts';
import { createServiceTokenSigner, SERVICE_TOKEN_HEADER } from '../shared/auth/service-identity.ts';
import type { TestSystem } from '../test/support/system.ts';
import { wholeNumberOption } from './lib/options.ts';
import { runLoad } from './lib/load.ts';
import { markdown, percentile } from './lib/report.ts';
import { processCpuMs } from './lib/process-cpu.ts';
import { createProducts, registerCustomers, startBenchSystem } from './lib/system.ts';

const TYPENAME = '{ __typename }';
const ONE_ORDER = 'query($id: ID!) { order(id: $id) { id status items { quantity } } }';
/** The one-order query for the same order every time (the issue's figure), and over all placed orders. */
const SAME_ORDER = 'one order, the same';
const VARIED_ORDERS = 'one order of --orders';
/** The issue's target: the one-order query at least at this fraction of `{ __typename }`'s rate. */
const TARGET_RATIO = 0.5;

interface Settings {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly orders: number;
  readonly profile: string | undefined;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '20' },
      orders: { type: 'string', default: '40' },
      profile: { type: 'string' },
    },
  });
  const number = (name: 'rounds' | 'seconds' | 'connections' | 'orders', min: number) =>
    wholeNumberOption(values, name, min);
  return {
    rounds: number('rounds', 1),
    seconds: number('seconds', 1),
    connections: number('connections', 1),
    orders: number('orders', 1),
    profile: values.profile === undefined ? undefined : path.resolve(values.profile),
  };
}

/** One kind of request: its name, its bodies (sent in turn), and what each correct answer contains. */
interface Workload {
  readonly name: string;
  readonly bodies: readonly { readonly body: string; readonly expect: string }[];
}

interface Round {
  readonly workload: string;
  readonly requests: number;
  readonly seconds: number;
  readonly latenciesMs: readonly number[];
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly cpuMs: number;
}

/** The process's CPU time (user + system) so far, ms. */
async function cpuMs(pid: number): Promise<number> {
  const ms = await processCpuMs(pid);
  if (ms === undefined) throw new Error(`process ${pid} is not running`);
  return ms;
}

/** Checks every answer by hand before timing: a bench of errors measures nothing. */
async function check(url: string, headers: Record<string, string>, workload: Workload): Promise<void> {
  for (const { body, expect } of workload.bodies) {
    const response = await fetch(url, { method: 'POST', headers, body });
    const text = await response.text();
    if (!response.ok || !text.includes(expect) || text.includes('"errors"')) {
      throw new Error(`${workload.name}: unexpected answer ${response.status} ${text.slice(0, 300)}`);
    }
  }
}

async function runRound(
  url: string,
  headers: Record<string, string>,
  workload: Workload,
  settings: Settings,
  pid: number,
): Promise<Round> {
  const requests = workload.bodies.map(({ body }) => ({ body, headers }));
  let sent = 0;
  const cpuBefore = await cpuMs(pid);
  const result = await runLoad(url, () => requests[sent++ % requests.length]!, settings);
  const cpuAfter = await cpuMs(pid);
  return { workload: workload.name, ...result, cpuMs: cpuAfter - cpuBefore };
}

const sorted = (latencies: readonly number[]) => [...latencies].sort((a, b) => a - b);

function summary(rounds: readonly Round[], workload: string) {
  const mine = rounds.filter((r) => r.workload === workload);
  const requests = mine.reduce((n, r) => n + r.requests, 0);
  const seconds = mine.reduce((n, r) => n + r.seconds, 0);
  const latencies = sorted(mine.flatMap((r) => r.latenciesMs));
  return {
    rate: requests / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuPerRequest: mine.reduce((n, r) => n + r.cpuMs, 0) / requests,
    errors: mine.reduce((n, r) => n + r.errors, 0),
  };
}

async function main(): Promise<void> {
  const settings = readSettings();
  console.log(
    `bench:subgraph: ${settings.rounds} rounds of ${settings.seconds} s per query, ` +
      `${settings.connections} connections, orders subgraph called directly; starting the system ...`,
  );
  let system: TestSystem | undefined;
  const stop = () => void system?.dispose().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    system = await startBenchSystem({
      processEnv: settings.profile
        ? { orders: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${settings.profile}` } }
        : undefined,
    });
    const orders = system.processes.find((p) => p.name === 'orders' && p.instance === 1);
    if (!orders?.pid) throw new Error('the orders subgraph is not running');
    const secret = system.env.SERVICE_SECRET;
    if (!secret) throw new Error('the system has no SERVICE_SECRET');

    const client = new Client(system.urls.gateway!);
    const admin = await client.adminToken();
    const [product] = await createProducts(client, admin, 1, 1_000_000);
    const [customer] = await registerCustomers(client, 1);
    const orderIds: string[] = [];
    for (let i = 0; i < settings.orders; i++) {
      const placed = await client.placeOrder(customer!, [{ productId: product!, quantity: 1 + i }]);
      if (!placed.data) throw new Error(`placeOrder failed: ${JSON.stringify(placed.errors)}`);
      orderIds.push(placed.data.placeOrder.id);
    }

    // The gateway's service token, signed as the gateway signs it; renewed before each round.
    const sign = createServiceTokenSigner(secret, 'gateway');
    const headersNow = async () => ({
      'content-type': 'application/json',
      authorization: `Bearer ${customer}`,
      [SERVICE_TOKEN_HEADER]: await sign('orders'),
    });
    const oneOrder = (id: string) => ({
      body: JSON.stringify({ query: ONE_ORDER, variables: { id } }),
      expect: `"id":"${id}"`,
    });
    const workloads: Workload[] = [
      { name: TYPENAME, bodies: [{ body: JSON.stringify({ query: TYPENAME }), expect: '"Query"' }] },
      { name: SAME_ORDER, bodies: [oneOrder(orderIds.at(-1)!)] },
      { name: VARIED_ORDERS, bodies: orderIds.map(oneOrder) },
    ];
    const url = orders.graphqlUrl;
    for (const workload of workloads) await check(url, await headersNow(), workload);

    // A short warm-up of each, so the first timed round does not pay for JIT compilation.
    const warmUp = { ...settings, seconds: 2 };
    for (const workload of workloads) await runRound(url, await headersNow(), workload, warmUp, orders.pid);

    const rounds: Round[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      for (const workload of workloads) {
        const result = await runRound(url, await headersNow(), workload, settings, orders.pid);
        rounds.push(result);
        const latencies = sorted(result.latenciesMs);
        console.log(
          `round ${round} ${workload.name}: ${(result.requests / result.seconds).toFixed(0)} requests/s, ` +
            `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
            `${result.errors} errors${result.firstError ? ` (first: ${result.firstError})` : ''}`,
        );
      }
    }
    for (const workload of workloads) await check(url, await headersNow(), workload);

    const floor = summary(rounds, TYPENAME);
    const same = summary(rounds, SAME_ORDER);
    const varied = summary(rounds, VARIED_ORDERS);
    const row = (name: string, s: ReturnType<typeof summary>) => [
      name,
      s.rate.toFixed(0),
      s.p50.toFixed(1),
      s.p99.toFixed(1),
      s.cpuPerRequest.toFixed(3),
      String(s.errors),
    ];
    console.log(
      `\norders subgraph, ${settings.connections} connections, ${settings.rounds} × ${settings.seconds} s each\n`,
    );
    console.log(
      markdown(
        ['query', 'requests/s', 'p50 ms', 'p99 ms', 'subgraph CPU ms/request', 'errors'],
        [
          row(TYPENAME, floor),
          row(`${SAME_ORDER} (token, shield, data)`, same),
          row(`${VARIED_ORDERS} (token, shield, data)`, varied),
        ],
      ),
    );
    console.log('');
    for (const [name, s] of [
      [SAME_ORDER, same],
      [VARIED_ORDERS, varied],
    ] as const) {
      const ratio = s.rate / floor.rate;
      console.log(
        `${name} rate / { __typename } rate: ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO}: ` +
          `${ratio >= TARGET_RATIO ? 'met' : 'not met'}); CPU per request beyond the floor: ` +
          `${(s.cpuPerRequest - floor.cpuPerRequest).toFixed(3)} ms`,
      );
    }
  } finally {
    await system?.dispose();
    process.removeListener('SIGINT', stop);
  }
}

await main();
