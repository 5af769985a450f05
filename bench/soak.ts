// Memory over a long steady run: `npm run bench:soak [-- --minutes 30 --rate 20 --subscribers 20]`.
//
// Starts the whole system on free ports (its own databases and NATS namespace, as the tests do),
// opens one graphql-ws connection per customer (`--subscribers`, kept open for the whole run),
// then places orders open-loop at `--rate` per second through the gateway, each at its scheduled
// time whatever the earlier ones are doing. Every order is watched live by its customer on that
// customer's connection until it is CONFIRMED (then that subscription is closed, as a client
// would once it has what it waited for), so subscriptions come and go all run long.
// The resident set size (RSS) of every process, and the CPU time of the system (its processes,
// PostgreSQL and NATS, as bench:saga reads it), are sampled every minute (and at the start).
//
// Prints RSS per process per minute, each process's band after the first `--settle` minutes
// (as % of its RSS at that minute; the target is within ±15%), and every error counted: a
// placeOrder that failed, a subscription that ended in error, an order that never settled or
// was cancelled; and CPU time per order after the settling minutes, by process, PostgreSQL and
// NATS included (what the heap limits of scripts/lib/services.ts cost in collections shows
// there). Figures, never pass/fail; not run in CI (it takes the minutes it is given).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestSystem } from '../test/support/system.ts';
import { Client } from '../e2e/support/client.ts';
import { cpuBetween, sampleCpu, type CpuSample } from './lib/cpu.ts';
import { markdown } from './lib/report.ts';
import { createProducts, registerCustomers, sleep, startBenchSystem } from './lib/system.ts';

const MINUTE_MS = 60_000;
const PRODUCTS = 20;
/** After the last order, how long the ones still in flight may take before they count as lost. */
const DRAIN_LIMIT_MS = 30_000;
/** The band the issue asks RSS to stay within after the settling minutes. */
const TARGET_BAND_PERCENT = 15;

interface Settings {
  readonly minutes: number;
  readonly rate: number;
  readonly subscribers: number;
  readonly settle: number;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      rate: { type: 'string', default: '20' },
      subscribers: { type: 'string', default: '20' },
      settle: { type: 'string', default: '5' },
    },
  });
  const number = (name: keyof typeof values, min: number): number => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}`);
    return value;
  };
  return {
    minutes: number('minutes', 1),
    rate: number('rate', 0.1),
    subscribers: Math.round(number('subscribers', 1)),
    settle: Math.round(number('settle', 0)),
  };
}

/** What went wrong, counted by kind, with the first message of each kind. */
class Errors {
  readonly counts = new Map<string, number>();
  readonly first = new Map<string, string>();

  add(kind: string, message: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (!this.first.has(kind)) this.first.set(kind, message.slice(0, 300));
  }

  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }
}

/** RSS in MiB of each process of the system now (undefined for one that is not running). */
async function rssMiB(system: TestSystem): Promise<Record<string, number | undefined>> {
  const result: Record<string, number | undefined> = {};
  for (const p of system.processes) {
    const status = p.pid ? await readFile(`/proc/${p.pid}/status`, 'utf8').catch(() => '') : '';
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    result[p.id] = kb === undefined ? undefined : Number(kb) / 1024;
  }
  return result;
}

interface Sample {
  readonly minute: number;
  readonly rss: Record<string, number | undefined>;
  /** CPU time so far of the system's processes, PostgreSQL and NATS (bench/lib/cpu.ts). */
  readonly cpu: CpuSample;
  /** Orders placed and errors counted so far. */
  readonly placed: number;
  readonly errors: number;
}

class Load {
  placed = 0;
  confirmed = 0;
  readonly errors = new Errors();
  /** Orders placed and not yet CONFIRMED, with what closes their subscription. */
  readonly inFlight = new Map<string, () => void>();
  private readonly client: Client;
  private readonly sockets: readonly WsClient[];
  private readonly customers: readonly string[];
  private readonly products: readonly string[];

  constructor(
    client: Client,
    sockets: readonly WsClient[],
    customers: readonly string[],
    products: readonly string[],
  ) {
    this.client = client;
    this.sockets = sockets;
    this.customers = customers;
    this.products = products;
  }

  /** Places order `n` and watches it on its customer's connection until it is CONFIRMED. */
  async order(n: number): Promise<void> {
    const customer = n % this.customers.length;
    let id: string | undefined;
    try {
      const response = await this.client.placeOrder(this.customers[customer]!, [
        { productId: this.products[n % this.products.length]!, quantity: 1 },
      ]);
      id = response.data?.placeOrder.id;
      if (!id) throw new Error(JSON.stringify(response.errors));
    } catch (error) {
      this.errors.add('placeOrder failed', String(error));
      return;
    }
    this.placed += 1;
    const orderId = id;
    const dispose = this.sockets[customer]!.subscribe<{ orderStatusChanged: { status: string } }>(
      {
        query: 'subscription($id: ID!) { orderStatusChanged(orderId: $id) { status statusSequence } }',
        variables: { id: orderId },
      },
      {
        next: (result) => {
          const status = result.data?.orderStatusChanged.status;
          if (result.errors) this.errors.add('subscription event with errors', JSON.stringify(result.errors));
          if (status === 'CONFIRMED') {
            this.confirmed += 1;
            this.settle(orderId);
          } else if (status === 'CANCELLED') {
            this.errors.add('order cancelled', orderId);
            this.settle(orderId);
          }
        },
        error: (error) => {
          this.errors.add('subscription error', JSON.stringify(error));
          this.settle(orderId);
        },
        complete: () => {
          if (this.inFlight.has(orderId)) this.errors.add('subscription ended early', orderId);
          this.settle(orderId);
        },
      },
    );
    this.inFlight.set(orderId, dispose);
  }

  private settle(orderId: string): void {
    const dispose = this.inFlight.get(orderId);
    if (!dispose) return;
    this.inFlight.delete(orderId);
    dispose();
  }
}

function bandTable(samples: readonly Sample[], ids: readonly string[], settle: number): string {
  const reference = samples.find((s) => s.minute === settle) ?? samples[0]!;
  const after = samples.filter((s) => s.minute >= reference.minute);
  const rows = ids.map((id) => {
    const ref = reference.rss[id];
    const values = after.map((s) => s.rss[id]);
    if (ref === undefined || values.some((v) => v === undefined)) return [id, '-', '-', '-', 'process down'];
    const percents = values.map((v) => (v! / ref - 1) * 100);
    const low = Math.min(...percents);
    const high = Math.max(...percents);
    const within = Math.max(-low, high) <= TARGET_BAND_PERCENT;
    const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
    return [id, ref.toFixed(1), signed(low), signed(high), within ? 'yes' : 'NO'];
  });
  return markdown(
    ['process', `MiB at min ${reference.minute}`, 'lowest', 'highest', `within ±${TARGET_BAND_PERCENT}%`],
    rows,
  );
}

/** CPU time per order placed between minute `settle` and the last sample, by process. */
function cpuTable(samples: readonly Sample[], settle: number): string {
  const from = samples.find((s) => s.minute === settle) ?? samples[0]!;
  const to = samples.at(-1)!;
  const orders = to.placed - from.placed;
  if (orders === 0) return '(no orders placed in that window)';
  const used = cpuBetween(from.cpu, to.cpu);
  const perOrder = (seconds: number) => ((seconds * 1000) / orders).toFixed(2);
  const rows = Object.entries(used.byGroup)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, seconds]) => [group, perOrder(seconds)]);
  rows.push(['all of the above', perOrder(used.total)]);
  return markdown(['process', 'CPU ms per order'], rows);
}

async function main(): Promise<void> {
  const settings = readSettings();
  console.log(
    `soak: ${settings.rate} orders/s for ${settings.minutes} min, ${settings.subscribers} graphql-ws subscribers; starting the system ...`,
  );
  let system: TestSystem | undefined;
  const sockets: WsClient[] = [];
  const stop = () => void system?.dispose().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    system = await startBenchSystem({
      env: {
        // The customers sign in once: their tokens must outlive the run (a token that expires
        // mid-run closes its socket with 4401 and refuses every order after it).
        JWT_TTL_SECONDS: String(Math.ceil(settings.minutes * 60 + 600)),
        // One customer holds every live subscription of its orders on one connection.
        SUBSCRIPTION_MAX_PER_USER: '100000',
        SUBSCRIPTION_MAX_PER_CONNECTION: '100000',
      },
    });
    const client = new Client(system.urls.gateway!);
    const admin = await client.adminToken();
    const products = await createProducts(client, admin, PRODUCTS, 1_000_000_000);
    const customers = await registerCustomers(client, settings.subscribers);
    const load = new Load(client, sockets, customers, products);
    for (const token of customers) {
      sockets.push(
        createClient({
          url: system.urls.gatewayWs!,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${token}` },
          lazy: false,
          retryAttempts: 0,
          onNonLazyError: (error) => load.errors.add('connection failed', String(error)),
        }),
      );
    }
    const ids = system.processes.map((p) => p.id);

    const samples: Sample[] = [];
    const sample = async (minute: number) => {
      const [rss, cpu] = await Promise.all([rssMiB(system!), sampleCpu(system!)]);
      samples.push({ minute, rss, cpu, placed: load.placed, errors: load.errors.total });
      const row = ids.map((id) => `${id} ${rss[id]?.toFixed(0) ?? '-'}`).join(', ');
      console.log(`min ${minute}: ${load.placed} placed, ${load.errors.total} errors; RSS MiB ${row}`);
    };

    const begin = performance.now();
    await sample(0);
    const sampler = (async () => {
      for (let minute = 1; minute <= settings.minutes; minute++) {
        await sleep(begin + minute * MINUTE_MS - performance.now());
        await sample(minute);
      }
    })();
    const total = Math.round(settings.rate * settings.minutes * 60);
    const orders: Promise<void>[] = [];
    for (let n = 0; n < total; n++) {
      const wait = begin + (n * 1000) / settings.rate - performance.now();
      if (wait > 1) await sleep(wait);
      orders.push(load.order(n));
    }
    await Promise.all(orders);
    await sampler;
    const deadline = performance.now() + DRAIN_LIMIT_MS;
    while (load.inFlight.size > 0 && performance.now() < deadline) await sleep(100);
    for (const id of load.inFlight.keys()) load.errors.add('not settled', id);

    console.log(`\nRSS per process, MiB, by minute (${settings.rate} orders/s through the gateway)\n`);
    console.log(
      markdown(
        ['min', ...ids, 'placed', 'errors'],
        samples.map((s) => [
          String(s.minute),
          ...ids.map((id) => s.rss[id]?.toFixed(1) ?? '-'),
          String(s.placed),
          String(s.errors),
        ]),
      ),
    );
    const settle = settings.minutes > settings.settle ? settings.settle : 1;
    if (settle !== settings.settle)
      console.log(`\n(a run this short has no minute ${settings.settle}: band from minute 1)`);
    console.log(`\nband after minute ${settle}, as % of the RSS at that minute\n`);
    console.log(bandTable(samples, ids, settle));
    console.log(`\nCPU per order placed, minute ${settle} to the end\n`);
    console.log(cpuTable(samples, settle));
    const seconds = (performance.now() - begin) / 1000;
    console.log(
      `\n${load.placed} orders placed (${(load.placed / seconds).toFixed(1)}/s over the run), ${load.confirmed} confirmed; errors: ${load.errors.total}`,
    );
    for (const [kind, count] of load.errors.counts)
      console.log(`  ${kind}: ${count} (first: ${load.errors.first.get(kind)})`);
  } finally {
    process.removeListener('SIGINT', stop);
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await system?.dispose();
  }
}

await main();
