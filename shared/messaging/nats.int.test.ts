// NATS_URL naming several servers (a cluster's nodes): the process connects to whichever answers.
// A NATS that cannot be reached at start: the process says so while it waits, and connects when
// it appears.
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { freePort } from '../../scripts/lib/ports.ts';
import { DEFAULT_NATS_URL } from '../../scripts/lib/services.ts';
import { recordLogs } from '../../test/support/log-recorder.ts';
import { startStandIn, type Target } from '../../test/support/tcp-stand-in.ts';
import { connectNats, splitServers } from './nats.ts';

const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;
const nats: Target = (() => {
  const url = new URL(splitServers(natsUrl)[0]!);
  return { host: url.hostname, port: Number(url.port || 4222) };
})();

describe('connectNats with several servers', () => {
  it('splits a comma-separated NATS_URL', () => {
    expect(splitServers(' nats://a:4222, nats://b:4222 ,')).toEqual(['nats://a:4222', 'nats://b:4222']);
  });

  it('connects to the server that answers when another in the list does not', async () => {
    const dead = `nats://127.0.0.1:${await freePort()}`;
    const nc = await connectNats(`${dead},${natsUrl}`, 'multi-server-test', pino({ level: 'silent' }));
    try {
      await expect(nc.rtt()).resolves.toBeGreaterThanOrEqual(0);
      expect(nc.getServer()).toBe(new URL(splitServers(natsUrl)[0]!).host);
    } finally {
      await nc.close();
    }
  });
});

describe('connectNats before its NATS answers', () => {
  it('warns, naming the server and the refusal, and connects once the server is there', async () => {
    const port = await freePort();
    const log = recordLogs();
    const lines = log.lines;
    let connected = false;
    const url = `nats://user:secret@127.0.0.1:${port}`;
    const connecting = connectNats(url, 'late-nats-test', log.logger, undefined, {
      warnEveryMs: 60_000,
    }).then((nc) => {
      connected = true;
      return nc;
    });
    const warning = await log.next((line) => line.level === 'warn');
    expect(warning.msg).toContain(`cannot connect to NATS at nats://127.0.0.1:${port}`);
    expect(warning.msg).toMatch(/refused/i);
    expect(JSON.stringify(lines)).not.toContain('secret');
    // It goes on trying, quietly: an attempt every 0.5 s.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(connected).toBe(false);

    const server = await startStandIn({ port, forwardTo: nats });
    try {
      const nc = await connecting;
      try {
        await expect(nc.rtt()).resolves.toBeGreaterThanOrEqual(0);
      } finally {
        await nc.close();
      }
      // One warning for every failed attempt would be a line per 0.5 s; warnEveryMs allows one.
      expect(lines.filter((line) => line.level === 'warn')).toHaveLength(1);
      const last = lines.at(-1)!;
      expect(last.level).toBe('info');
      expect(last.msg).toMatch(/^NATS connected after \d+ failed attempts$/);
      expect(last.failures).toBeGreaterThan(1);
    } finally {
      await server.close();
    }
  });

  it('warns again every warnEveryMs while a server that never answers holds each attempt', async () => {
    const server = await startStandIn();
    const log = recordLogs();
    const lines = log.lines;
    const warnings = () => lines.filter((line) => line.level === 'warn');
    try {
      const started = Date.now();
      const url = `nats://127.0.0.1:${server.port}`;
      const options = { dialTimeoutMs: 300, warnEveryMs: 1000 };
      const connecting = connectNats(url, 'silent-nats-test', log.logger, undefined, options);
      await log.next(() => warnings().length >= 2);
      const elapsed = Date.now() - started;
      const [first] = warnings();
      expect(first!.msg).toContain(`cannot connect to NATS at nats://127.0.0.1:${server.port}`);
      expect(first!.msg).toMatch(/timeout/i);
      // The first at the first failure (300 ms), the second a second later, not one per attempt.
      expect(elapsed).toBeGreaterThanOrEqual(1000);
      expect(elapsed).toBeLessThan(4000);
      expect(server.accepted).toBeGreaterThan(1);

      server.forwardTo(nats);
      const nc = await connecting;
      await nc.close();
    } finally {
      await server.close();
    }
  });
});
