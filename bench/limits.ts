// What a limit decision costs the gateway, in memory (no REDIS_URL) and in Redis (REDIS_URL):
// CPU time of this process and of the Redis server per rate-limit check and per login-throttle
// begin+end, and the latency of a check. CPU per decision moves less between machines than
// latency does; on a loaded machine both are indicative only.
//
//   npm run bench:limits [-- --checks 20000 --concurrency 50]   (REDIS_URL, else 127.0.0.1:6379)
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createLogger } from '../shared/logger.ts';
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from '../test/support/redis.ts';
import { createLimits, type Limits } from '../gateway/src/limits/limits-store.ts';
import { readGatewayConfig } from '../gateway/src/config.ts';

const { values } = parseArgs({
  options: { checks: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '50' } },
});
const checks = Number(values.checks);
const concurrency = Number(values.concurrency);
const prefix = testKeyPrefix();
const logger = createLogger('bench-limits', 'silent');

/** The Redis server's own CPU seconds (user + system), from INFO. */
async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const read = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return read('used_cpu_user') + read('used_cpu_sys');
}

interface Figures {
  readonly cpuUsPerOp: number;
  readonly redisCpuUsPerOp: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Runs `count` operations, `concurrency` at a time, and measures them. */
async function measure(admin: Redis, count: number, op: (i: number) => Promise<unknown>): Promise<Figures> {
  const latencies: number[] = [];
  const redisBefore = await redisCpuSeconds(admin);
  const cpuBefore = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const started = performance.now();
        await op(i).catch(() => undefined); // refusals are decisions too
        latencies.push(performance.now() - started);
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const redisCpu = (await redisCpuSeconds(admin)) - redisBefore;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    cpuUsPerOp: (cpu.user + cpu.system) / count,
    redisCpuUsPerOp: (redisCpu * 1e6) / count,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

const defaults = readGatewayConfig({});
/** Decisions taken from memory because Redis did not answer in time: they would flatter Redis's figures. */
let fallbacks = 0;

function limitsAt(redisUrl: string | undefined): Limits {
  return createLimits(
    {
      // The defaults a gateway runs with.
      rateLimit: defaults.rateLimit,
      loginThrottle: defaults.loginThrottle,
      store: { redisUrl, keyPrefix: prefix },
    },
    logger,
    { onLimited: () => undefined, onFallback: () => fallbacks++ },
  );
}

const admin = new Redis(TEST_REDIS_URL);
const rows: Record<string, Figures> = {};
try {
  for (const [store, url] of [
    ['memory', undefined],
    ['redis', TEST_REDIS_URL],
  ] as const) {
    const limits = limitsAt(url);
    await limits.connected();
    // Distinct clients (each check a fresh bucket), as under many users.
    rows[`${store}: rate-limit check`] = await measure(admin, checks, (i) =>
      limits.rateLimiter.check(`ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`),
    );
    rows[`${store}: login begin+end`] = await measure(admin, checks / 4, async (i) => {
      const decision = await limits.loginThrottle.beginLogin(
        `user${i}@example.com`,
        `10.1.${i >> 8}.${i & 255}`,
      );
      if (decision.allowed) await decision.attempt.end('failed');
    });
    await limits.close();
  }
} finally {
  admin.disconnect();
  await deleteKeys(prefix);
}

console.log(
  `${checks} checks, ${checks / 4} logins, ${concurrency} at a time; Redis at ${new URL(TEST_REDIS_URL).host}; ${fallbacks} decisions fell back to memory`,
);
console.table(
  Object.fromEntries(
    Object.entries(rows).map(([name, f]) => [
      name,
      {
        'gateway CPU µs/op': f.cpuUsPerOp.toFixed(1),
        'Redis CPU µs/op': f.redisCpuUsPerOp.toFixed(1),
        'p50 ms': f.p50Ms.toFixed(2),
        'p99 ms': f.p99Ms.toFixed(2),
      },
    ]),
  ),
);
