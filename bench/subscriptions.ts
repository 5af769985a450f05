// Live subscriptions on one gateway: `npm run bench:subscriptions [-- <subscriptions> <orders>]`
// (default 2000 subscriptions over 200 orders, 10 per order).
//
// Starts the whole system on free ports (its own databases and NATS namespace, as the tests
// do) with one gateway, confirms <orders> orders spread over 20 customers, then:
//   1. memory: samples the gateway's /metrics (process_resident_memory_bytes and
//      nodejs_heap_size_used_bytes) 5 times, opens <subscriptions> graphql-ws connections, one
//      subscription each (each order watched by its customer through 10 sockets: 2 selections,
//      so 2 groups of identical subscribers per order), waits for every first event, lets the
//      gateway settle and samples again; the medians' difference divided by the count is the
//      cost of one idle subscription, its WebSocket included. No forced GC (the gateway does not
//      expose one): the heap figure may still hold garbage, which only overstates it.
//   2. latency: ships, then delivers, every order (admin mutations, 20 at a time) while all
//      subscriptions stay open, and measures each event from the status change's time (the
//      order's `updatedAt` in the event = the status change's `at`, set in the transaction
//      that commits it) to its arrival at the client; every subscription then completes.
//   3. a stream of new orders (5/s, open loop), each watched from the moment it is placed: the same latency
//      for the saga's own events (INVENTORY_RESERVED ... CONFIRMED).
// Loopback only; bounded in time; figures, never pass/fail.
import { performance } from 'node:perf_hooks';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents } from '../e2e/support/client.ts';

const SUBSCRIPTIONS = Number(process.argv[2] ?? 2000);
const ORDERS = Number(process.argv[3] ?? Math.max(1, Math.round(SUBSCRIPTIONS / 10)));
const CUSTOMERS = 20;
/** Status changes per second driven while every subscription is open. */
const RATE = Number(process.env.BENCH_RATE ?? 20);
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

const latencies: number[] = [];
/** Arrival here of each status event on NATS, by `<orderId>:<sequence>`, to split the latency. */
const natsArrival = new Map<string, number>();
const streamLatencies: number[] = [];
/** From the event's arrival on NATS (here) to its arrival at the client: the gateway's part. */
const gatewayLatencies: number[] = [];
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
    const text = await (await fetch(system.urls.gateway!.replace(/\/graphql$/, '/metrics'))).text();
    const value = (name: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(name))
          ?.split(' ')
          .at(-1),
      );
    samples.push({ rss: value('process_resident_memory_bytes'), heap: value('nodejs_heap_size_used_bytes') });
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { rss: median(samples.map((s) => s.rss)), heap: median(samples.map((s) => s.heap)), gc };
}

async function gatewayMetric(system: TestSystem, name: string): Promise<number> {
  const text = await (await fetch(system.urls.gateway!.replace(/\/graphql$/, '/metrics'))).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

function percentiles(xs: number[]) {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? NaN };
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const system = await startTestSystem({
  env: {
    RATE_LIMIT_PER_MINUTE: '10000000',
    RATE_LIMIT_BURST: '1000000',
    // The bench registers its customers from one address, faster than a client would.
    LOGIN_THROTTLE_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    // CUSTOMERS users hold all the subscriptions: far more each than the production cap.
    SUBSCRIPTION_MAX_PER_USER: '100000',
  },
});
const sockets: WsClient[] = [];
const events = await OrderEvents.listen(system);
const tap = await connect({ servers: system.natsUrl });
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
  const customers = await Promise.all(Array.from({ length: CUSTOMERS }, () => client.registerCustomer()));
  const orders: { id: string; token: string }[] = [];
  await inBatches(
    Array.from({ length: ORDERS }, (_, i) => customers[i % CUSTOMERS]!),
    20,
    async (customer) => {
      const response = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
      if (!response.data) throw new Error(JSON.stringify(response.errors));
      orders.push({ id: response.data.placeOrder.id, token: customer.token });
    },
  );
  await Promise.all(orders.map((o) => events.until(o.id)));
  console.log(`${elapsed()}: ${ORDERS} orders confirmed`);

  const before = await gatewayMemory(system);
  const opening = performance.now();
  const watches: Watch[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i += 1) {
    const order = orders[i % ORDERS]!;
    const w = watch(
      system.urls.gatewayWs!,
      order.token,
      order.id,
      SELECTIONS[Math.floor(i / ORDERS) % 2]!,
      latencies,
      gatewayLatencies,
    );
    watches.push(w);
    sockets.push(w.socket);
    if (i % 100 === 99) await Promise.all(watches.slice(-100).map((x) => x.first));
  }
  await Promise.all(watches.map((w) => w.first));
  const openMs = performance.now() - opening;
  const live = await gatewayMetric(system, 'gateway_live_subscriptions');
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = await gatewayMemory(system);
  console.log(
    `${elapsed()}: ${SUBSCRIPTIONS} subscriptions open in ${Math.round(openMs)} ms (gateway counts ${live})`,
  );

  const executionsBefore = await gatewayMetric(system, 'gateway_subscription_executions_total');
  const fulfilling = performance.now();
  // Open loop at RATE changes per second: each mutation at its time, whatever the others do.
  const steps = [
    ...orders.map((o) => ({ id: o.id, step: 'shipOrder' })),
    ...orders.map((o) => ({ id: o.id, step: 'deliverOrder' })),
  ];
  await Promise.all(
    steps.map(async ({ id, step }, i) => {
      // Each order's delivery comes a full ship pass after its shipping, so it is never early.
      await new Promise((resolve) => setTimeout(resolve, (i * 1000) / RATE));
      await client.data(`mutation($id: ID!) { ${step}(id: $id) { status } }`, { id }, admin);
    }),
  );
  await Promise.all(watches.map((w) => w.done));
  const fulfilMs = performance.now() - fulfilling;
  const executions =
    (await gatewayMetric(system, 'gateway_subscription_executions_total')) - executionsBefore;
  const dropped = await gatewayMetric(system, 'gateway_subscriptions_dropped_total');
  console.log(`${elapsed()}: every order shipped and delivered; every subscription completed`);
  await Promise.all(sockets.splice(0).map((s) => s.dispose()));

  // A stream of new orders, each watched from placement by its customer.
  const streamWatches: Watch[] = [];
  await Promise.all(
    Array.from({ length: STREAM_ORDERS }, (_, i) => customers[i % CUSTOMERS]!).map(async (customer, i) => {
      await new Promise((resolve) => setTimeout(resolve, (i * 1000) / STREAM_RATE));
      const response = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
      if (!response.data) throw new Error(JSON.stringify(response.errors));
      const w = watch(
        system.urls.gatewayWs!,
        customer.token,
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

  const perSub = (bytes: number) => `${(bytes / SUBSCRIPTIONS / 1024).toFixed(1)} KB`;
  const l = percentiles(latencies);
  const g = percentiles(gatewayLatencies);
  const s = percentiles(streamLatencies);
  const sg = percentiles(streamGatewayLatencies);
  console.log(`
Live subscriptions on one gateway (${SUBSCRIPTIONS} graphql-ws connections, one subscription each, over ${ORDERS} orders)
  opening all ${SUBSCRIPTIONS} (connect, auth, current state):  ${Math.round(openMs)} ms
  gateway memory before / after opening${before.gc && after.gc ? ' (after a forced full GC)' : ' (no forced GC: overstated)'}:  RSS ${(before.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB, heap ${(before.heap / 2 ** 20).toFixed(1)} -> ${(after.heap / 2 ** 20).toFixed(1)} MiB
  per idle subscription:  RSS ${perSub(after.rss - before.rss)}, heap ${perSub(after.heap - before.heap)}
  ship + deliver of ${ORDERS} orders at ${RATE} changes/s with all subscriptions open: ${l.count} events delivered in ${Math.round(fulfilMs)} ms, ${executions} executions through the supergraph, ${dropped} subscribers dropped as slow
    latency status change -> client:  p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms
    from arrival on NATS -> client (the gateway's part):  p50 ${g.p50} ms, p95 ${g.p95} ms, p99 ${g.p99} ms, max ${g.max} ms
  stream of ${STREAM_ORDERS} new orders placed at ${STREAM_RATE}/s, each watched from placement: ${s.count} saga events
    latency status change -> client:  p50 ${s.p50} ms, p95 ${s.p95} ms, p99 ${s.p99} ms, max ${s.max} ms
    from arrival on NATS -> client (the gateway's part):  p50 ${sg.p50} ms, p95 ${sg.p95} ms, p99 ${sg.p99} ms, max ${sg.max} ms
  total ${elapsed()}`);
} finally {
  await Promise.all(sockets.map((s) => s.dispose()));
  await events.close();
  await tap.close();
  await system.dispose();
}
