// Live subscriptions on one gateway: `npm run bench:subscriptions [-- <subscriptions> <orders>]`
// (default 10,000 subscriptions over 1,000 orders, 10 per order).
//
// Starts the whole system on free ports (its own databases and NATS namespace, as the tests
// do) with one gateway, and confirms <orders> orders. Customers hold no more subscriptions each
// than the production cap (SUBSCRIPTION_MAX_PER_USER, 20): each customer's orders are watched by
// 20 sockets in all (10 per order, two different selections, so two groups of identical
// subscribers per order). The sockets are opened by a worker thread (bench/lib/ws-clients.ts)
// at most BENCH_OPEN_CONCURRENCY (default 1,000) at a time, in random order, as clients do when
// they all reconnect to a restarted gateway. Then, in one run:
//   1. bare connections: one authenticated graphql-ws connection per subscription to come
//      (connect, connection_init with the customer's token, connection_ack), then all closed;
//   2. subscriptions: the same connections, each with its subscription up to its first event
//      (the current state); all stay open. For both: the time each took, opens per second, and
//      CPU per open (the gateway's, and the whole system's: every service, PostgreSQL, NATS),
//      and the ratio of the two;
//   3. memory: the gateway's RSS and heap after a forced full GC (through the inspector SIGUSR1
//      opens), before and after opening the subscriptions, per subscription; and the gateway's
//      CPU over 10 s with every subscription open and nothing happening (keep-alive pings);
//   4. resuming: every socket closed, as when the gateway restarts, and every subscription
//      opened again as its client then does, resuming after the last sequence its order
//      published (afterSequence), so that nothing is owed to it: CPU per open, from the first
//      socket until the gateway serves them all, and the ratio to phase 1;
//   5. latency: BENCH_CHANGES status changes (ship, then deliver, that many / 2 orders) at
//      BENCH_RATE (20) changes per second while every resumed subscription is open, each event
//      from the status change's time (its `updatedAt`, set in the transaction that commits it)
//      to its arrival at the client;
//   6. a stream of new orders (5/s, open loop), each watched from the moment it is placed: the
//      same latency for the saga's own events (INVENTORY_RESERVED ... CONFIRMED).
//   7. the yardstick: phases 1 and 2 again, the same connections and texts, against a server
//      of graphql-ws and ws with nothing behind them (bench/lib/graphql-ws-floor.ts, one event
//      per subscription): its ratio is the least a server on these libraries can reach.
// Each side holds one socket per subscription: `ulimit -n` must exceed the count (the bench
// checks; raise it with `ulimit -n 65536` in the shell that starts it). Loopback only; bounded in
// time; figures, never pass/fail. BENCH_CPU_PROFILE=gateway writes the gateway's V8 CPU profile
// to .cache/bench-profiles (summarise it with bench/lib/cpu-profile.ts).
import { performance } from 'node:perf_hooks';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { natsAdminOptions, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents } from '../e2e/support/client.ts';
import { metricSum, metricsText, seriesSum } from '../e2e/support/metrics.ts';
import { cpuBetween, sampleCpu } from './lib/cpu.ts';
import { processCpuMs } from './lib/process-cpu.ts';
import { withHeapLimit } from '../scripts/lib/services.ts';
import { markdown } from './lib/report.ts';
import { registerCustomers, sleep, startBenchSystem } from './lib/system.ts';
import type { Completed, Opened, Request as ClientRequest, Subscription } from './lib/ws-clients.ts';

const SUBSCRIPTIONS = Number(process.argv[2] ?? 10_000);
const ORDERS = Number(process.argv[3] ?? Math.max(1, Math.round(SUBSCRIPTIONS / 10)));
/** The production cap on live subscriptions per user, which the bench stays under. */
const PER_USER = 20;
const PER_ORDER = Math.ceil(SUBSCRIPTIONS / ORDERS);
const ORDERS_PER_CUSTOMER = Math.max(1, Math.floor(PER_USER / PER_ORDER));
const CUSTOMERS = Math.ceil(ORDERS / ORDERS_PER_CUSTOMER);
/** Sockets opening at once (both phases). */
const CONCURRENCY = Number(process.env.BENCH_OPEN_CONCURRENCY ?? 1000);
/** Status changes per second driven while every subscription is open. */
const RATE = Number(process.env.BENCH_RATE ?? 20);
/** Status changes in the latency phase (ship, then deliver, half as many orders). */
const CHANGES = Math.min(2 * ORDERS, Number(process.env.BENCH_CHANGES ?? 600));
/** How long the gateway's CPU is read with every subscription open and nothing happening. */
const IDLE_MS = 10_000;
const STREAM_ORDERS = 60;
/** New orders placed per second (open loop) in the stream phase. */
const STREAM_RATE = 5;
const SELECTIONS = [
  'id status statusSequence updatedAt customer { email } items { quantity product { name } }',
  'id status statusSequence updatedAt payment { status } total { amountCents }',
];

interface Watch {
  readonly socket: WsClient;
  readonly first: Promise<void>;
  /** Resolves when the subscription has shown CONFIRMED (or a later or terminal status). */
  readonly settled: Promise<void>;
  readonly done: Promise<void>;
}

/** Arrival here of each status event on NATS, by `<orderId>:<sequence>`, to split the latency. */
const natsArrival = new Map<string, number>();
const streamLatencies: number[] = [];
/** From the event's arrival on NATS (here) to its arrival at the client: the gateway's part. */
const streamGatewayLatencies: number[] = [];

function watch(
  wsUrl: string,
  token: string,
  orderId: string,
  selection: string,
  sink: number[],
  gatewaySink: number[],
): Watch {
  const socket = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  let firstSeen: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (firstSeen = resolve));
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  let seen = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.subscribe<{
      orderStatusChanged: { id: string; statusSequence: number; updatedAt: string; status: string };
    }>(
      {
        query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { ${selection} } }`,
        variables: { id: orderId },
      },
      {
        next: (result) => {
          const now = Date.now();
          seen += 1;
          if (seen === 1) firstSeen();
          else if (result.data) {
            const order = result.data.orderStatusChanged;
            sink.push(now - Date.parse(order.updatedAt));
            const heard = natsArrival.get(`${order.id}:${order.statusSequence}`);
            if (heard !== undefined) gatewaySink.push(now - heard);
          }
          const status = result.data?.orderStatusChanged.status;
          if (status && !['PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED'].includes(status)) settle();
        },
        error: (err) => reject(new Error(`subscription failed: ${JSON.stringify(err)}`)),
        complete: () => resolve(),
      },
    );
  });
  return { socket, first, settled, done };
}

/**
 * A full garbage collection in the gateway, through the inspector that SIGUSR1 opens in a
 * running Node process (loopback only, port 9229), so the heap figure holds only live objects.
 * False when that is not possible (the port taken, inspector disabled).
 */
async function collectGarbage(system: TestSystem): Promise<boolean> {
  const pid = system.process('gateway').pid;
  if (pid === undefined) return false;
  try {
    process.kill(pid, 'SIGUSR1');
    // Only this checkout's gateway: another process may hold the port with its own inspector.
    const entry = new URL('../gateway/src/main.ts', import.meta.url).href;
    let url: string | undefined;
    for (let i = 0; i < 20 && !url; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const response = await fetch('http://127.0.0.1:9229/json/list').catch(() => undefined);
      const targets = ((await response?.json()) ?? []) as { url: string; webSocketDebuggerUrl: string }[];
      url = targets.find((t) => t.url === entry)?.webSocketDebuggerUrl;
    }
    if (!url) return false;
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const call = (id: number, method: string) =>
      new Promise<void>((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          if ((JSON.parse(String(data)) as { id?: number }).id === id) {
            socket.off('message', onMessage);
            resolve();
          }
        };
        socket.on('message', onMessage);
        socket.send(JSON.stringify({ id, method }));
      });
    await call(1, 'HeapProfiler.collectGarbage');
    await call(2, 'HeapProfiler.collectGarbage');
    socket.close();
    return true;
  } catch {
    return false;
  }
}

async function gatewayMemory(system: TestSystem): Promise<{ rss: number; heap: number; gc: boolean }> {
  const gc = await collectGarbage(system);
  const samples: { rss: number; heap: number }[] = [];
  for (let i = 0; i < 5; i += 1) {
    const text = await metricsText(system.process('gateway').baseUrl);
    samples.push({
      rss: seriesSum(text, 'process_resident_memory_bytes'),
      heap: seriesSum(text, 'nodejs_heap_size_used_bytes'),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { rss: median(samples.map((s) => s.rss)), heap: median(samples.map((s) => s.heap)), gc };
}

/** A figure of the gateway's /metrics, summed over the series whose labels include all of `labels`. */
const gatewayMetric = (system: TestSystem, name: string, ...labels: string[]) =>
  metricSum(system.process('gateway').baseUrl, name, ...labels);

/** Waits (polling five times a second, at most a minute) until a gateway figure is `value`; the last reading. */
async function untilGatewayMetric(system: TestSystem, name: string, value: number): Promise<number> {
  let reading = await gatewayMetric(system, name);
  for (let i = 0; i < 300 && reading !== value; i += 1) {
    await sleep(200);
    reading = await gatewayMetric(system, name);
  }
  return reading;
}

function percentiles(xs: number[]) {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? NaN };
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

/** The load generator (bench/lib/ws-clients.ts) in a worker thread, one request at a time. */
class Clients {
  private readonly worker = new Worker(new URL('./lib/ws-clients.ts', import.meta.url));
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.worker.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
      const pending = this.waiting.get(id);
      this.waiting.delete(id);
      if (error !== undefined) pending?.reject(new Error(error));
      else pending?.resolve(result);
    });
  }

  request<T>(request: DistributiveOmit<ClientRequest, 'id'>): Promise<T> {
    const id = (this.next += 1);
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function openFileLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return NaN;
  }
}

/**
 * CPU ms per open of a server speaking the protocol with nothing behind it
 * (bench/lib/graphql-ws-floor.ts, started here with the gateway's heap settings): bare
 * connections, then subscriptions up to their first event, opened as the gateway's were.
 */
async function protocolFloor(
  tokens: string[],
  subscriptions: Subscription[],
): Promise<{ bare: number; subscription: number }> {
  const child = spawn(process.execPath, [new URL('./lib/graphql-ws-floor.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: withHeapLimit(undefined, 'gateway') },
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const url = `ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/`;
    const perOpen = async (request: () => Promise<Opened>) => {
      const before = await processCpuMs(child.pid!);
      const opened = await request();
      const used = (await processCpuMs(child.pid!))! - before!;
      if (opened.failures.length > 0) throw new Error(`graphql-ws alone: ${opened.failures[0]}`);
      await clients.request({ kind: 'close' });
      return used / opened.latencies.length;
    };
    const bare = await perOpen(() =>
      clients.request<Opened>({ kind: 'connect', url, tokens, concurrency: CONCURRENCY }),
    );
    const subscription = await perOpen(() =>
      clients.request<Opened>({ kind: 'subscribe', url, subscriptions, concurrency: CONCURRENCY }),
    );
    return { bare, subscription };
  } finally {
    child.kill();
  }
}

/**
 * CPU ms of the gateway and of the whole system (services, PostgreSQL, NATS) while `run` runs,
 * and the gateway's write system calls (to clients and to subgraphs).
 */
async function measured<T>(
  run: () => Promise<T>,
): Promise<{ result: T; gatewayMs: number; systemMs: number; gatewayWrites: number }> {
  const before = await sampleCpu(system);
  const result = await run();
  const used = cpuBetween(before, await sampleCpu(system));
  // The gateway's groups: a gateway id, or several when it runs more than one process.
  const ofGateway = (byGroup: Readonly<Record<string, number>>) =>
    Object.entries(byGroup)
      .filter(([group]) => group.startsWith('gateway'))
      .reduce((sum, [, amount]) => sum + amount, 0);
  const gateway = ofGateway(used.byGroup);
  const gatewayWrites = ofGateway(used.writesByGroup);
  return { result, gatewayMs: gateway * 1000, systemMs: used.total * 1000, gatewayWrites };
}

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const fileLimit = openFileLimit();
if (fileLimit < SUBSCRIPTIONS + 1000) {
  throw new Error(
    `ulimit -n is ${fileLimit}: the gateway and the load generator each hold one socket per subscription; ` +
      `run \`ulimit -n ${Math.max(65536, SUBSCRIPTIONS * 2)}\` in this shell first`,
  );
}
const profiled = (process.env.BENCH_CPU_PROFILE ?? '').split(',').filter(Boolean);
const system = await startBenchSystem({
  processEnv: Object.fromEntries(
    profiled.map((name) => [
      name,
      {
        NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${new URL('../.cache/bench-profiles', import.meta.url).pathname}`,
      },
    ]),
  ),
});
const sockets: WsClient[] = [];
const clients = new Clients();
const events = await OrderEvents.listen(system);
const tap = await connect(natsAdminOptions(system));
tap.subscribe(`${system.id}.orders.evt.status.>`, {
  callback: (_err, msg) => {
    const event = msg.json<{ orderId: string; sequence: number }>();
    natsArrival.set(`${event.orderId}:${event.sequence}`, Date.now());
  },
});
await tap.flush();
try {
  const client = new Client(system.urls.gateway!);
  const admin = await client.adminToken();
  const product = await client.createProduct(admin, { priceCents: 100, stock: 1_000_000 });
  const customers = await registerCustomers(client, CUSTOMERS);
  console.log(`${elapsed()}: ${CUSTOMERS} customers registered`);
  const orders: { id: string; token: string }[] = [];
  await inBatches(
    Array.from({ length: ORDERS }, (_, i) => customers[Math.floor(i / ORDERS_PER_CUSTOMER)]!),
    20,
    async (token) => {
      // A machine shared with other work may make the orders database answer too late
      // (SERVICE_UNAVAILABLE): that order is placed again, as a client would.
      for (let attempt = 1; ; attempt += 1) {
        const response = await client.placeOrder(token, [{ productId: product.id, quantity: 1 }]);
        if (response.data) {
          orders.push({ id: response.data.placeOrder.id, token });
          return;
        }
        const unavailable = response.errors?.every((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE');
        if (!unavailable || attempt === 5) throw new Error(JSON.stringify(response.errors));
        await sleep(1000);
      }
    },
  );
  await Promise.all(orders.map((o) => events.until(o.id)));
  console.log(`${elapsed()}: ${ORDERS} orders confirmed`);

  // Each subscription: its order and one of the two selections; resumed, it names afterSequence.
  const watchers = Array.from({ length: SUBSCRIPTIONS }, (_, i) => ({
    order: orders[i % ORDERS]!,
    selection: SELECTIONS[Math.floor(i / ORDERS) % 2]!,
  }));
  const subscriptionText = (selection: string, resuming: boolean) =>
    resuming
      ? `subscription($id: ID!, $after: Int) { orderStatusChanged(orderId: $id, afterSequence: $after) { ${selection} } }`
      : `subscription($id: ID!) { orderStatusChanged(orderId: $id) { ${selection} } }`;
  const plan: Subscription[] = shuffled(
    watchers.map(({ order, selection }) => ({
      token: order.token,
      orderId: order.id,
      query: subscriptionText(selection, false),
    })),
  );
  const url = system.urls.gatewayWs!;

  const bare = await measured(() =>
    clients.request<Opened>({
      kind: 'connect',
      url,
      tokens: plan.map((p) => p.token),
      concurrency: CONCURRENCY,
    }),
  );
  if (bare.result.failures.length > 0)
    throw new Error(`bare connections failed: ${bare.result.failures.slice(0, 3).join('; ')}`);
  await clients.request({ kind: 'close' });
  console.log(`${elapsed()}: ${SUBSCRIPTIONS} bare connections opened and closed`);

  const before = await gatewayMemory(system);
  const readsBefore = await gatewayMetric(system, 'gateway_subscription_first_state_reads_total');
  const queriesBefore = await gatewayMetric(system, 'gateway_subscription_first_state_queries_total');
  const SUBGRAPH_CALLS = ['gateway_subgraph_fetches_total', 'shared="false"'] as const;
  const callsBefore = await gatewayMetric(system, ...SUBGRAPH_CALLS);
  const subs = await measured(() =>
    clients.request<Opened>({ kind: 'subscribe', url, subscriptions: plan, concurrency: CONCURRENCY }),
  );
  const opened = subs.result.latencies.length;
  if (subs.result.failures.length > 0)
    console.log(
      `${subs.result.failures.length} subscriptions not opened: ${subs.result.failures.slice(0, 3).join('; ')}`,
    );
  const reads = (await gatewayMetric(system, 'gateway_subscription_first_state_reads_total')) - readsBefore;
  const queries =
    (await gatewayMetric(system, 'gateway_subscription_first_state_queries_total')) - queriesBefore;
  const subgraphCalls = (await gatewayMetric(system, ...SUBGRAPH_CALLS)) - callsBefore;
  const live = await gatewayMetric(system, 'gateway_live_subscriptions');
  // What holding them costs with nothing happening: keep-alive pings, timers.
  const idle = await measured(() => sleep(IDLE_MS));
  const after = await gatewayMemory(system);
  console.log(`${elapsed()}: ${opened} subscriptions open (gateway counts ${live})`);

  // Phase 4: every client loses its socket, as when the gateway restarts, reconnects and
  // resumes after the last sequence of its order; phase 5 runs on these subscriptions.
  await clients.request({ kind: 'close' });
  await untilGatewayMetric(system, 'gateway_live_subscriptions', 0);
  // A restarted gateway starts with an empty heap: the closed subscriptions' garbage is
  // collected now, not charged to the opens below.
  await collectGarbage(system);
  const lastSeen = new Map<string, number>();
  for (const key of natsArrival.keys()) {
    const [orderId, sequence] = key.split(':') as [string, string];
    lastSeen.set(orderId, Math.max(lastSeen.get(orderId) ?? 0, Number(sequence)));
  }
  const resumePlan: Subscription[] = shuffled(
    watchers.map(({ order, selection }) => ({
      token: order.token,
      orderId: order.id,
      query: subscriptionText(selection, true),
      afterSequence: lastSeen.get(order.id) ?? 0,
    })),
  );
  const resumeReadsBefore = await gatewayMetric(system, 'gateway_subscription_resume_reads_total');
  const resumeCallsBefore = await gatewayMetric(system, ...SUBGRAPH_CALLS);
  const resumeStarted = performance.now();
  const resumed = await measured(async () => {
    const sent = await clients.request<Opened>({
      kind: 'subscribe',
      url,
      subscriptions: resumePlan,
      concurrency: CONCURRENCY,
    });
    // Nothing is sent to a resumed subscriber: the gateway says when it serves them all.
    const served = await untilGatewayMetric(system, 'gateway_live_subscriptions', resumePlan.length);
    return { sent, served };
  });
  const resumeMs = performance.now() - resumeStarted;
  const resumeReads =
    (await gatewayMetric(system, 'gateway_subscription_resume_reads_total')) - resumeReadsBefore;
  const resumeCalls = (await gatewayMetric(system, ...SUBGRAPH_CALLS)) - resumeCallsBefore;
  console.log(
    `${elapsed()}: ${resumePlan.length} subscriptions resumed (gateway serves ${resumed.result.served})`,
  );
  if (resumed.result.sent.failures.length > 0 || resumed.result.served !== resumePlan.length)
    console.log(
      `resumed subscriptions not served: ${resumePlan.length - resumed.result.served} (${resumed.result.sent.failures.slice(0, 3).join('; ')})`,
    );

  const executionsBefore = await gatewayMetric(system, 'gateway_subscription_executions_total');
  const changed = orders.slice(0, Math.ceil(CHANGES / 2));
  const fulfilling = performance.now();
  // Open loop at RATE changes per second: each mutation at its time, whatever the others do.
  // Each order's delivery is due a full ship pass after its shipping, and waits for it to be done
  // if that is late (on a loaded machine it may be).
  const change = (id: string, step: string, at: number, after?: Promise<unknown>) =>
    (async () => {
      await sleep((at * 1000) / RATE);
      await after;
      await client.data(`mutation($id: ID!) { ${step}(id: $id) { status } }`, { id }, admin);
    })();
  const shipped = changed.map((o, i) => change(o.id, 'shipOrder', i));
  await Promise.all([
    ...shipped,
    ...changed.map((o, i) => change(o.id, 'deliverOrder', changed.length + i, shipped[i])),
  ]);
  const { latencies } = await clients.request<Completed>({
    kind: 'completed',
    orderIds: changed.map((o) => o.id),
  });
  const fulfilMs = performance.now() - fulfilling;
  const executions =
    (await gatewayMetric(system, 'gateway_subscription_executions_total')) - executionsBefore;
  const dropped = await gatewayMetric(system, 'gateway_subscriptions_dropped_total');
  console.log(`${elapsed()}: ${changed.length} orders shipped and delivered; their subscriptions completed`);
  await clients.request({ kind: 'close' });

  // A stream of new orders, each watched from placement by its customer.
  const streamWatches: Watch[] = [];
  await Promise.all(
    Array.from({ length: STREAM_ORDERS }, (_, i) => customers[i % CUSTOMERS]!).map(async (token, i) => {
      await sleep((i * 1000) / STREAM_RATE);
      const response = await client.placeOrder(token, [{ productId: product.id, quantity: 1 }]);
      if (!response.data) throw new Error(JSON.stringify(response.errors));
      const w = watch(
        system.urls.gatewayWs!,
        token,
        response.data.placeOrder.id,
        SELECTIONS[0]!,
        streamLatencies,
        streamGatewayLatencies,
      );
      streamWatches.push(w);
      sockets.push(w.socket);
      await w.first;
    }),
  );
  await Promise.all(streamWatches.map((w) => w.settled));

  // Phase 7: the same connections and subscriptions against graphql-ws and ws alone.
  const floor = await protocolFloor(
    plan.map((p) => p.token),
    plan,
  );
  console.log(`${elapsed()}: the same against graphql-ws and ws alone`);

  const perSub = (bytes: number) => `${(bytes / opened / 1024).toFixed(1)} KB`;
  const l = percentiles(latencies);
  const s = percentiles(streamLatencies);
  const sg = percentiles(streamGatewayLatencies);
  const figures = (o: { result: Opened; gatewayMs: number; systemMs: number; gatewayWrites: number }) => {
    const p = percentiles(o.result.latencies);
    return {
      perSecond: (o.result.latencies.length / o.result.wallMs) * 1000,
      p50: p.p50,
      p99: p.p99,
      gateway: o.gatewayMs / o.result.latencies.length,
      system: o.systemMs / o.result.latencies.length,
      writes: o.gatewayWrites / o.result.latencies.length,
    };
  };
  const b = figures(bare);
  const o = figures(subs);
  const r = {
    perSecond: (resumePlan.length / resumeMs) * 1000,
    gateway: resumed.gatewayMs / resumePlan.length,
    system: resumed.systemMs / resumePlan.length,
    writes: resumed.gatewayWrites / resumePlan.length,
  };
  const rssPer = (after.rss - before.rss) / opened / 1024;
  const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
  console.log(`
Live subscriptions on one gateway (${SUBSCRIPTIONS} graphql-ws connections, one subscription each, over ${ORDERS} orders of ${CUSTOMERS} customers; ${CONCURRENCY} opening at a time, in random order)

${markdown(
  ['opening one', 'per second', 'p50 ms', 'p99 ms', 'gateway CPU ms', 'system CPU ms', 'gateway write calls'],
  (
    [
      ['bare connection (connect, init with token, ack)', b],
      ['subscription (the same, up to its first state)', o],
    ] as const
  )
    .map(([name, x]) => [
      name,
      x.perSecond.toFixed(0),
      x.p50.toFixed(1),
      x.p99.toFixed(1),
      x.gateway.toFixed(2),
      x.system.toFixed(2),
      x.writes.toFixed(2),
    ])
    .concat([
      [
        'resumed subscription (the same, after the sequence last seen: no event owed)',
        r.perSecond.toFixed(0),
        '-',
        '-',
        r.gateway.toFixed(2),
        r.system.toFixed(2),
        r.writes.toFixed(2),
      ],
    ]),
)}
  retried after a refusal (as a client reconnects): ${bare.result.retried} bare, ${subs.result.retried} subscriptions${subs.result.firstRefusal ? ` (first: ${subs.result.firstRefusal})` : ''}
  subscription / bare: gateway CPU ${ratio(o.gateway, b.gateway)}, system CPU ${ratio(o.system, b.system)}, time p50 ${ratio(o.p50, b.p50)}, opens/s ${ratio(b.perSecond, o.perSecond)} (target: ≤ 2×)
  resumed / bare, as clients reconnecting to a restarted gateway: gateway CPU ${ratio(r.gateway, b.gateway)}, system CPU ${ratio(r.system, b.system)}, opens/s ${ratio(b.perSecond, r.perSecond)}; ${resumeReads} resume points read (${(resumeReads / resumePlan.length).toFixed(2)} each; one per order and user is the least, then the gateway knows), ${resumeCalls} subgraph calls (${(resumeCalls / resumePlan.length).toFixed(2)} each)
  current states read: ${reads} for ${opened} subscriptions (${(reads / opened).toFixed(2)} each; subscribers of one group starting together share one), in ${queries} queries through the supergraph (one reads up to 16 orders of the same user), which made ${subgraphCalls} subgraph calls (${(subgraphCalls / opened).toFixed(2)} per subscription)
  gateway memory before / after opening${before.gc && after.gc ? ' (after a forced full GC)' : ' (no forced GC: overstated)'}:  RSS ${(before.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB, heap ${(before.heap / 2 ** 20).toFixed(1)} -> ${(after.heap / 2 ** 20).toFixed(1)} MiB
  gateway CPU with all ${opened} open and nothing happening: ${((idle.gatewayMs / IDLE_MS) * 100).toFixed(1)} % of a core (${IDLE_MS / 1000} s)
  per idle subscription:  RSS ${perSub(after.rss - before.rss)} (target ≤ 25 KB: ${(rssPer / 25).toFixed(2)} of it), heap ${perSub(after.heap - before.heap)}
  ship + deliver of ${changed.length} orders at ${RATE} changes/s with all ${SUBSCRIPTIONS} subscriptions open (resumed): ${l.count} events delivered in ${Math.round(fulfilMs)} ms, ${executions} executions through the supergraph, ${dropped} subscribers dropped as slow
    latency status change -> client:  p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms (target ≤ 200 ms: ${(l.p99 / 200).toFixed(2)} of it), max ${l.max} ms
  stream of ${STREAM_ORDERS} new orders placed at ${STREAM_RATE}/s, each watched from placement: ${s.count} saga events
    latency status change -> client:  p50 ${s.p50} ms, p95 ${s.p95} ms, p99 ${s.p99} ms, max ${s.max} ms
    from arrival on NATS -> client (the gateway's part):  p50 ${sg.p50} ms, p95 ${sg.p95} ms, p99 ${sg.p99} ms, max ${sg.max} ms
  graphql-ws and ws alone, with nothing behind them (bench/lib/graphql-ws-floor.ts; the same connections and texts, one event each): bare ${floor.bare.toFixed(2)} ms, subscription up to its first event ${floor.subscription.toFixed(2)} ms (${ratio(floor.subscription, floor.bare)}): the least a server on these libraries can reach; the gateway's ${ratio(o.gateway, b.gateway)} is ${ratio(o.gateway / b.gateway, floor.subscription / floor.bare)} of it
  total ${elapsed()}`);
} finally {
  await Promise.all(sockets.map((s) => s.dispose()));
  await clients.request({ kind: 'close' }).catch(() => undefined);
  await clients.close();
  await events.close();
  await tap.close();
  await system.dispose();
}
