// `npm run scenario:cluster`: the system on a 3-node JetStream cluster, two of every process.
//
// Three nats-server processes clustered on 127.0.0.1 (streams at NATS_REPLICAS=3), two
// instances of every subgraph and of the gateway (each gateway routing every subgraph over both
// instances), PostgreSQL at DATABASE_URL. Orders are placed through both gateways and each is
// watched on the other one. Under that load: the node leading the orders stream is killed,
// restarted and waited for until its replicas are current again; then a node that leads
// nothing of it, likewise; then one instance of every service and one gateway are SIGKILLed,
// whose watchers reconnect to the other gateway with afterSequence. Then the saga must settle
// with every order CONFIRMED or CANCELLED (compensated), the stock and money invariants of
// e2e/faults.invariants.ts holding, and every watcher having seen every status of its order
// exactly once. Prints the throughput and the longest stall; exits 1 when anything fails.
//
// Too heavy for `npm test` (fifteen processes on two cores): run by hand. Bounded in time
// (SCENARIO_PHASE_SECONDS per load phase, SCENARIO_TIMEOUT_SECONDS in all) and count
// (SCENARIO_MAX_ORDERS, SCENARIO_WORKERS placing at once); loopback only.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readInt } from '../../shared/config.ts';
import { PROCESSES, SUBGRAPHS } from '../../scripts/lib/services.ts';
import { STREAMS, streamName, type StreamName } from '../../shared/messaging/topology.ts';
import { startTestSystem, testId, type TestSystem } from '../../test/support/system.ts';
import { Client } from '../support/client.ts';
import { SystemDatabases, checkInvariants, deadLetters, waitUntilQuiet } from '../faults.invariants.ts';
import { processCpuMs } from '../../bench/lib/process-cpu.ts';
import { NatsCluster } from './nats-cluster.ts';
import { runOrderLoad, type OrderWatch } from './orders-load.ts';
import { metricSum } from '../support/metrics.ts';

const env = process.env;
const PHASE_MS = readInt(env, 'SCENARIO_PHASE_SECONDS', 8, 1, 600) * 1000;
const WORKERS = readInt(env, 'SCENARIO_WORKERS', 12, 1, 200);
const MAX_ORDERS = readInt(env, 'SCENARIO_MAX_ORDERS', 3000, 1, 1_000_000);
const NODE_DOWN_MS = 3000;
const REJOIN_TIMEOUT_MS = 120_000;

const started = performance.now();
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const log = (line: string) => console.log(`[${seconds(performance.now() - started).padStart(6)} s] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TIMEOUT_MS = readInt(env, 'SCENARIO_TIMEOUT_SECONDS', 900, 60, 7200) * 1000;

const problems: string[] = [];
// The whole run is bounded: a hang anywhere fails it (the exit hook of startSystem kills the
// processes; the nats-server children die with this process's group when run from npm).
const watchdog = setTimeout(() => {
  console.log(`scenario did not finish within ${TIMEOUT_MS / 1000} s`);
  void cluster?.stop().finally(() => process.exit(1));
}, TIMEOUT_MS);
watchdog.unref();
const timings: Record<string, number> = {};
const dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-scenario-'));
let cluster: NatsCluster | undefined;
let system: TestSystem | undefined;
let dbs: SystemDatabases | undefined;

try {
  log(`3 nats-server nodes under ${dir}`);
  cluster = await NatsCluster.start(dir);
  log(`cluster up: ${cluster.url}`);
  const id = testId();
  system = await startTestSystem({
    id,
    natsUrl: cluster.url,
    instances: Object.fromEntries(PROCESSES.map((name) => [name, 2])),
    logDir: path.join(dir, 'logs'),
    readyTimeoutMs: 180_000,
    env: {
      NATS_REPLICAS: '3',
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_BURST: '100000',
      LOGIN_THROTTLE_REGISTER_BURST: '100000',
      SUBSCRIPTION_MAX_PER_USER: '10000',
      // Every watcher's socket comes from this one address.
      SUBSCRIPTION_MAX_CONNECTIONS_PER_ADDRESS: '100000',
      // Two of every subgraph with their default pools (10, orders 20) would want 120 connections,
      // over PostgreSQL's default max_connections of 100, on a server others use too.
      DATABASE_POOL_SIZE: env.DATABASE_POOL_SIZE ?? '5',
    },
  });
  log(`system up: ${system.processes.map((p) => p.id).join(', ')}`);
  const streams = (Object.keys(STREAMS) as StreamName[]).map((s) => streamName(id, s));
  const ordersStream = streamName(id, 'ORDERS');
  const replicas = (await cluster.streamInfo(ordersStream)).config.num_replicas;
  if (replicas !== 3) problems.push(`${ordersStream} has ${replicas} replicas, not 3`);

  const gateways = [system.process('gateway').graphqlUrl, system.process('gateway#2').graphqlUrl];
  const client = new Client(gateways[0]!);
  const admin = await client.adminToken();
  const initialStock = new Map<string, number>();
  const products: string[] = [];
  for (let i = 0; i < 5; i++) {
    // One scarce product: its later orders are cancelled OUT_OF_STOCK.
    const stock = i === 0 ? 20 : 100_000;
    const { id: productId } = await client.createProduct(admin, { priceCents: 500 + i * 125, stock });
    initialStock.set(productId, stock);
    products.push(productId);
  }
  const customers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => new Client(gateways[i % 2]!).registerCustomer()),
  );
  dbs = await SystemDatabases.open(system);

  const loadOptions = {
    gateways,
    customers,
    products,
    workers: WORKERS,
    maxOrders: MAX_ORDERS,
    declineEvery: 10,
    orderTimeoutMs: 180_000,
  };
  // A warm-up, checked like the rest but not timed: the first orders through each process pay
  // for its connections, prepared statements and compiled code.
  const warmUp = await runOrderLoad({ ...loadOptions, maxOrders: 2 * WORKERS }, new Promise(() => {}));
  log(`warm-up: ${warmUp.watches.length} orders`);

  let endLoad = () => {};
  const loadStop = new Promise<void>((resolve) => (endLoad = resolve));
  const loadStarted = performance.now();
  log(`load: ${WORKERS} workers, both gateways`);
  const load = runOrderLoad(loadOptions, loadStop);

  /** When each stretch of the load began, for the throughput of each. */
  const phases: { name: string; at: number }[] = [{ name: 'steady', at: loadStarted }];
  const phase = (name: string) => phases.push({ name, at: performance.now() });
  // CPU time over the first stretch, before anything is killed: every process of the system
  // and every nats-server (PostgreSQL is shared and left out). It travels better than orders
  // per second on a busy machine.
  const cpuNow = async () => {
    const sum = async (pids: number[]) =>
      (await Promise.all(pids.map((pid) => processCpuMs(pid)))).reduce<number>((a, b) => a + (b ?? 0), 0);
    return { node: await sum(system!.processes.map((p) => p.pid!)), nats: await sum(cluster!.pids()) };
  };
  const cpuBefore = await cpuNow();
  await sleep(PHASE_MS);
  const cpuAfter = await cpuNow();
  const firstStretchEnded = performance.now();
  const restartNode = async (what: string, node: string) => {
    const killedAt = performance.now();
    await cluster!.kill(node);
    log(`${what}: SIGKILLed ${node}`);
    if (what === 'leader') {
      const leader = await cluster!.leaderOf(ordersStream, node);
      timings['new orders-stream leader elected (s)'] = (performance.now() - killedAt) / 1000;
      log(`${ordersStream} now led by ${leader}`);
    }
    await sleep(NODE_DOWN_MS);
    await cluster!.startNode(node);
    const restartedAt = performance.now();
    log(`${what}: ${node} restarted; waiting until every replica is current`);
    await cluster!.waitCurrent(streams, REJOIN_TIMEOUT_MS);
    timings[`${what} ${node} rejoined, all replicas current (s after restart)`] =
      (performance.now() - restartedAt) / 1000;
    log(`${what}: ${node} rejoined; leader of ${ordersStream}: ${await cluster!.leaderOf(ordersStream)}`);
  };

  phase('orders-stream leader killed and restarted');
  await restartNode('leader', await cluster.leaderOf(ordersStream));
  phase('steady');
  await sleep(PHASE_MS);
  const leader = await cluster.leaderOf(ordersStream);
  phase('follower killed and restarted');
  await restartNode('non-leader', cluster.nodes.find((n) => n.name !== leader)!.name);
  phase('steady');
  await sleep(PHASE_MS);

  const victims = [...SUBGRAPHS.map((name) => `${name}#2`), 'gateway#2'];
  phase('one instance of each process SIGKILLed');
  await Promise.all(victims.map((victim) => system!.kill(victim, 'SIGKILL')));
  log(`SIGKILLed ${victims.join(', ')}`);
  await sleep(PHASE_MS);

  endLoad();
  const loadEnded = performance.now();
  log('load stopped; waiting for the orders in flight');
  const result = await load;
  log(`saga settling (${result.watches.length} orders watched)`);
  await waitUntilQuiet(system, dbs, 180_000);

  const report = await checkInvariants(dbs, initialStock);
  problems.push(...report.problems);
  problems.push(...(await checkWatches(dbs, [...warmUp.watches, ...result.watches])));
  problems.push(...warmUp.placementFailures.map((r) => `warm-up placement given up: ${r}`));
  problems.push(...result.placementFailures.map((r) => `placement given up: ${r}`));
  const letters = await deadLetters(system);
  if (letters.length) problems.push(`${letters.length} dead letters: ${JSON.stringify(letters.slice(0, 3))}`);

  const loadMs = loadEnded - loadStarted;
  const settledAt = result.watches
    .filter((w) => w.outcome)
    .map((w) => w.seen.at(-1)!.at)
    .sort((a, b) => a - b);
  const confirmedAt = result.watches
    .filter((w) => w.outcome === 'CONFIRMED')
    .map((w) => w.seen.at(-1)!.at)
    .sort((a, b) => a - b);
  // From the first confirmation: the first orders' wait is start-up, not a stall.
  const stall = longestGap(confirmedAt, confirmedAt[0] ?? loadStarted, loadEnded);
  const reconnected = result.watches.filter((w) => w.connections > 1).length;
  const failovers = await metricSum(system.process('gateway').baseUrl, 'gateway_subgraph_failovers_total');

  console.log('\n=== cluster scenario ===');
  console.log(`topology        3 nats-server (${cluster.url}), R3 streams; 2 x each subgraph, 2 gateways`);
  console.log(`load            ${seconds(loadMs)} s, ${WORKERS} workers`);
  console.log(
    `orders          ${report.orders} in the database, ${warmUp.watches.length} + ${result.watches.length} placed (warm-up + load) and watched`,
  );
  console.log(`outcomes        ${JSON.stringify(report.byOutcome)}`);
  console.log(
    `throughput      ${(settledAt.filter((t) => t <= loadEnded).length / (loadMs / 1000)).toFixed(1)} orders settled/s during the load`,
  );
  console.log(
    `longest stall   ${seconds(stall.ms)} s with no order confirmed (from ${seconds(stall.from - loadStarted)} s into the load)`,
  );
  for (const [i, { name, at }] of phases.entries()) {
    const until = phases[i + 1]?.at ?? loadEnded;
    const settled = settledAt.filter((t) => t >= at && t < until).length;
    console.log(
      `  ${seconds(at - loadStarted).padStart(5)}-${seconds(until - loadStarted).padEnd(5)} s  ${(settled / ((until - at) / 1000)).toFixed(1).padStart(5)} settled/s  ${name}`,
    );
  }
  const steadyOrders = settledAt.filter((t) => t >= loadStarted && t < firstStretchEnded).length;
  const perOrder = (ms: number) => (steadyOrders ? (ms / steadyOrders).toFixed(0) : '-');
  console.log(
    `CPU per order   ${perOrder(cpuAfter.node - cpuBefore.node + cpuAfter.nats - cpuBefore.nats)} ms over the first stretch (${steadyOrders} orders): node processes ${perOrder(cpuAfter.node - cpuBefore.node)} ms, nats-server ${perOrder(cpuAfter.nats - cpuBefore.nats)} ms`,
  );
  for (const [what, s] of Object.entries(timings)) console.log(`                ${what}: ${s.toFixed(1)}`);
  console.log(
    `placements      sent again after a failure (same idempotency key): ${JSON.stringify(result.placementRetries)}`,
  );
  console.log(`watchers        ${reconnected} reconnected to the other gateway and resumed`);
  console.log(`gateway#1       ${failovers} subgraph calls failed over to another instance`);
  console.log(
    `money           captured ${report.capturedCents} cents, refunded ${report.refundedCents} cents`,
  );
  console.log(`result          ${problems.length === 0 ? 'PASS' : `FAIL (${problems.length} problems)`}`);
  for (const problem of problems.slice(0, 30)) console.log(`  - ${problem}`);
} catch (error) {
  problems.push(`scenario aborted: ${error instanceof Error ? error.stack : String(error)}`);
  console.log(problems.at(-1));
} finally {
  await dbs?.close();
  await system?.dispose().catch((error: unknown) => console.log(`dispose: ${String(error)}`));
  await cluster?.stop();
  if (problems.length === 0) await rm(dir, { recursive: true, force: true });
  else console.log(`logs kept in ${dir}`);
}
process.exit(problems.length === 0 ? 0 : 1);

/** Each watcher saw exactly its order's history: every status once, in order, from PENDING. */
async function checkWatches(databases: SystemDatabases, watches: readonly OrderWatch[]): Promise<string[]> {
  const found: string[] = [];
  const { rows } = await databases.orders.query<{ order_id: string; sequence: number; status: string }>(
    'select order_id, sequence, status from order_status_changes order by order_id, sequence',
  );
  const history = new Map<string, string[]>();
  for (const row of rows)
    history.set(row.order_id, [...(history.get(row.order_id) ?? []), `${row.sequence}:${row.status}`]);
  for (const watch of watches) {
    if (watch.failure) found.push(`watcher of ${watch.orderId}: ${watch.failure}`);
    const seen = watch.seen.map((s) => `${s.sequence}:${s.status}`);
    const expected = history.get(watch.orderId) ?? [];
    // A watcher stops at CONFIRMED; the history may go on (shipping) only if someone shipped.
    if (seen.join(' ') !== expected.slice(0, seen.length).join(' ') || seen.length !== expected.length)
      found.push(`watcher of ${watch.orderId} saw ${seen.join(' ')}; history ${expected.join(' ')}`);
  }
  return found;
}

/** The longest time within [from, to] between two of `times` (or an end of the window). */
function longestGap(times: readonly number[], from: number, to: number): { ms: number; from: number } {
  const points = [from, ...times.filter((t) => t > from && t < to), to];
  let best = { ms: 0, from };
  for (let i = 1; i < points.length; i++) {
    const gap = points[i]! - points[i - 1]!;
    if (gap > best.ms) best = { ms: gap, from: points[i - 1]! };
  }
  return best;
}
