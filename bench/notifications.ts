// Notification latency under the saga benchmark's load: `npm run bench:notifications [-- 50:20]`.
//
// Starts the whole system with the notifications subgraph sending to a real SMTP server started
// here (smtp-server, test/support/smtp-sink.ts), creates products and customers as bench:saga
// does, warms up, then places orders open-loop at each phase's rate and measures, for every
// confirmed order, from its CONFIRMED status event (the `at` orders wrote when it changed the
// status) to the moment the SMTP server accepted the ORDER_CONFIRMED email (matched by its
// X-Order-Id header). Both are this machine's wall clock. Also prints the CPU the notifications
// process and its database backends used per email. Figures, never pass/fail.
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { natsAdminOptions, type TestSystem } from '../test/support/system.ts';
import { SmtpSink } from '../test/support/smtp-sink.ts';
import { databaseUrl } from '../shared/db/database.ts';
import { Client } from '../e2e/support/client.ts';
import { markdown, percentile } from './lib/report.ts';
import { sleep, startBenchSystem } from './lib/system.ts';
import {
  openShop,
  parsePhase,
  parsePhases,
  placeOrdersOpenLoop,
  type Phase,
  type Shop,
} from './lib/open-loop.ts';
import { cpuBetween, sampleCpu } from './lib/cpu.ts';

const WARM_UP: Phase = parsePhase(process.env.BENCH_WARM_UP ?? '50:10');
const PRODUCTS = 20;
const CUSTOMERS = 100;
/** After the last order of a phase, how long its confirmations and emails may take before the rest count as missing. */
const DRAIN_LIMIT_MS = 30_000;

/** When each order became CONFIRMED (orders' own `at`), by order id. */
const confirmedAt = new Map<string, number>();

/** Places the phase's orders open-loop; the ids of those the gateway accepted. */
async function placeOrders(phase: Phase, shop: Shop): Promise<string[]> {
  const ids: string[] = [];
  await placeOrdersOpenLoop(phase, shop, (response) =>
    response.then(({ data }) => {
      const id = data?.placeOrder.id;
      if (id) ids.push(id);
    }),
  );
  return ids;
}

function confirmationEmails(sink: SmtpSink): Map<string, number> {
  const accepted = new Map<string, number>();
  for (const mail of sink.received) {
    const orderId = mail.headers.get('x-order-id');
    if (orderId && mail.headers.get('x-notification-template') === 'ORDER_CONFIRMED') {
      if (!accepted.has(orderId)) accepted.set(orderId, mail.acceptedAt);
    }
  }
  return accepted;
}

/** When the ORDER_CONFIRMED notification of each order was recorded, read from its database. */
async function recordedAt(system: TestSystem, orderIds: readonly string[]): Promise<Map<string, number>> {
  const db = new pg.Client({
    connectionString: databaseUrl(system.databaseUrl, `${system.id}_notifications`),
  });
  await db.connect();
  try {
    const { rows } = await db.query<{ order_id: string; created_at: Date }>(
      "select order_id, created_at from notifications where template = 'ORDER_CONFIRMED' and order_id = any($1::uuid[])",
      [orderIds],
    );
    return new Map(rows.map((r) => [r.order_id, r.created_at.getTime()]));
  } finally {
    await db.end();
  }
}

async function main(): Promise<void> {
  const phases = parsePhases(process.argv.slice(2), ['50:20']);
  const sink = await SmtpSink.start();
  console.log('starting the system ...');
  let system: TestSystem | undefined;
  try {
    system = await startBenchSystem({
      processEnv: { notifications: { SMTP_URL: sink.url, LOG_LEVEL: process.env.NOTIFICATIONS_LOG_LEVEL } },
      // BENCH_LOG_DIR=<dir> keeps each process's output there.
      logDir: process.env.BENCH_LOG_DIR,
    });
    const client = new Client(system.urls.gateway!);
    const nc = await connect(natsAdminOptions(system));
    const sub = nc.subscribe(`${system.id}.orders.evt.status.>`);
    void (async () => {
      for await (const msg of sub) {
        const event = msg.json<{ orderId: string; status: string; at: string }>();
        if (event.status === 'CONFIRMED') confirmedAt.set(event.orderId, Date.parse(event.at));
      }
    })();
    await nc.flush();

    const shop = await openShop(client, PRODUCTS, CUSTOMERS);
    console.log(
      `${PRODUCTS} products, ${CUSTOMERS} customers; warm-up ${WARM_UP.rate}/s for ${WARM_UP.seconds} s`,
    );
    await placeOrders(WARM_UP, shop);

    const rows: string[][] = [];
    const hops: string[][] = [];
    for (const phase of phases) {
      console.log(`phase ${phase.rate} orders/s for ${phase.seconds} s ...`);
      const before = await sampleCpu(system);
      const ids = await placeOrders(phase, shop);
      const deadline = performance.now() + DRAIN_LIMIT_MS;
      const emailed = () => {
        const accepted = confirmationEmails(sink);
        return ids.filter((id) => confirmedAt.has(id) && accepted.has(id)).length;
      };
      // Every order confirmed (or given up on) and every confirmation emailed, or the limit.
      while (emailed() < ids.length && performance.now() < deadline) await sleep(50);
      const usage = cpuBetween(before, await sampleCpu(system));
      const accepted = confirmationEmails(sink);
      const confirmed = ids.filter((id) => confirmedAt.has(id));
      const latencies = confirmed
        .filter((id) => accepted.has(id))
        .map((id) => accepted.get(id)! - confirmedAt.get(id)!)
        .sort((a, b) => a - b);
      // Where the time goes: the event to its record (the consumer), the record to the server (delivery).
      const recorded = await recordedAt(system, confirmed);
      const hop = (from: (id: string) => number | undefined, to: (id: string) => number | undefined) =>
        confirmed
          .map((id) => {
            const [a, b] = [from(id), to(id)];
            return a === undefined || b === undefined ? NaN : b - a;
          })
          .filter((v) => !Number.isNaN(v))
          .sort((a, b) => a - b);
      const toRecord = hop(
        (id) => confirmedAt.get(id),
        (id) => recorded.get(id),
      );
      const toServer = hop(
        (id) => recorded.get(id),
        (id) => accepted.get(id),
      );
      hops.push([
        String(phase.rate),
        ...[toRecord, toServer].flatMap((h) => [percentile(h, 50).toFixed(0), percentile(h, 99).toFixed(0)]),
      ]);
      const perEmail = (seconds: number) => ((seconds * 1000) / (latencies.length || 1)).toFixed(1);
      rows.push([
        String(phase.rate),
        String(phase.seconds),
        String(ids.length),
        String(confirmed.length),
        String(latencies.length),
        String(confirmed.length - latencies.length),
        ...[50, 95, 99].map((p) => percentile(latencies, p).toFixed(0)),
        (latencies.at(-1) ?? NaN).toFixed(0),
        perEmail(usage.byGroup.notifications ?? 0),
        perEmail(usage.byGroup['pg:notifications'] ?? 0),
      ]);
    }
    console.log('\nCONFIRMED status event -> ORDER_CONFIRMED email accepted by the SMTP server, open loop\n');
    console.log(
      markdown(
        [
          'target/s',
          'secs',
          'placed',
          'confirmed',
          'emailed',
          'missing',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'max ms',
          'cpu ms/email',
          'pg ms/email',
        ],
        rows,
      ),
    );
    console.log(
      '\nper hop, ms: CONFIRMED event -> its notification recorded -> accepted by the SMTP server\n',
    );
    console.log(markdown(['target/s', 'recorded p50', 'p99', 'accepted p50', 'p99'], hops));
    console.log(
      '\ncpu ms/email: the notifications process, pg ms/email: its database backends, per confirmation email (each order also brings its other status events, which notifications reads and keeps or skips)',
    );
    console.log(
      `emails received in all (warm-up included): ${sink.received.length}; SMTP attempts: ${sink.attempts}`,
    );
    sub.unsubscribe();
    await nc.close();
  } finally {
    await system?.dispose();
    await sink.stop();
  }
}

await main();
