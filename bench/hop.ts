// What one message hop costs on this machine, apart from any work it triggers:
// `npm run bench:hop [-- <round trips>]`. Two floors that the saga's CPU per order is made of:
//   1. a message between two Node processes over loopback TCP, one in flight at a time, so
//      each message wakes its receiver (the saga at low load: every hop is a wake-up);
//   2. a PostgreSQL round trip (`select $1`, prepared) from a Node client, with the CPU of the
//      backend that served it (read from /proc, Linux only).
// It prints the CPU of each side per round trip, to set against the write system calls and
// round trips per order that `bench:saga` counts. Figures, never pass/fail. The backend's CPU is
// read in clock ticks (10 ms): enough over the default 20,000 round trips.
import net from 'node:net';
import { fork } from 'node:child_process';
import pg from 'pg';
import { ensureInfrastructure } from '../scripts/lib/infra.ts';
import { DEFAULT_DATABASE_URL } from '../scripts/lib/services.ts';
import { processCpuMs } from './lib/process-cpu.ts';
import { markdown } from './lib/report.ts';

const ROUND_TRIPS = Number(process.argv[2] ?? 20_000);
const ROUNDS = 3;
/** About a saga message's size (a JetStream message with its headers). */
const MESSAGE = Buffer.alloc(300, 'x');

interface Usage {
  readonly user: number;
  readonly system: number;
}

const minus = (a: Usage, b: Usage): Usage => ({ user: a.user - b.user, system: a.system - b.system });
const perTrip = (us: number) => (us / ROUND_TRIPS).toFixed(1);

if (process.argv[2] === '--echo') {
  // The other process: echoes every message back, and reports its CPU when asked.
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
  process.on('message', () => process.send!(process.cpuUsage()));
} else {
  await main();
}

async function main(): Promise<void> {
  // PostgreSQL as `npm start` finds or starts it.
  const infra = await ensureInfrastructure({
    databaseUrl: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    nats: false,
  });
  const rows: string[][] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) rows.push(['TCP, Node to Node', ...(await tcpRound())]);
    for (let round = 1; round <= ROUNDS; round++)
      rows.push(['PostgreSQL statement', ...(await pgRound(infra.databaseUrl))]);
  } finally {
    await infra.stop();
  }
  console.log(
    `\nOne message in flight at a time, ${ROUND_TRIPS} round trips per round, ${ROUNDS} rounds each; µs per round trip\n`,
  );
  console.log(
    markdown(
      ['round trip', 'wall µs', 'CPU µs, this side', 'of it system time', 'CPU µs, the other side'],
      rows,
    ),
  );
}

/** Ping-pong with a forked echo process. */
async function tcpRound(): Promise<string[]> {
  const child = fork(new URL(import.meta.url).pathname, ['--echo']);
  try {
    const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
    const childUsage = () =>
      new Promise<Usage>((resolve) => {
        child.once('message', (m) => resolve(m as Usage));
        child.send('usage');
      });
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    const otherBefore = await childUsage();
    const before = process.cpuUsage();
    const start = performance.now();
    await new Promise<void>((resolve) => {
      let received = 0;
      let trips = 0;
      socket.on('data', (data) => {
        received += data.length;
        if (received < MESSAGE.length) return;
        received -= MESSAGE.length;
        if (++trips === ROUND_TRIPS) resolve();
        else socket.write(MESSAGE);
      });
      socket.write(MESSAGE);
    });
    const wall = performance.now() - start;
    const mine = process.cpuUsage(before);
    const other = minus(await childUsage(), otherBefore);
    socket.destroy();
    return [perTrip(wall * 1000), ...mineAndSystem(mine), perTrip(other.user + other.system)];
  } finally {
    child.kill();
  }
}

/** Prepared `select $1` one after another, with the serving backend's CPU from /proc. */
async function pgRound(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const backend = rows[0]!.pid;
    const query = { name: 'hop', text: 'select $1::int as n', values: [1] };
    await client.query(query);
    const backendBefore = (await processCpuMs(backend))!;
    const before = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < ROUND_TRIPS; i++) await client.query(query);
    const wall = performance.now() - start;
    const mine = process.cpuUsage(before);
    const backendMs = (await processCpuMs(backend))! - backendBefore;
    return [perTrip(wall * 1000), ...mineAndSystem(mine), perTrip(backendMs * 1000)];
  } finally {
    await client.end();
  }
}

/** This side's CPU per round trip, and the share of it in the kernel. */
function mineAndSystem(usage: Usage): string[] {
  const total = usage.user + usage.system;
  return [perTrip(total), `${((usage.system / total) * 100).toFixed(0)} %`];
}
