// NATS_URL naming several servers (a cluster's nodes): the process connects to whichever answers.
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { freePort } from '../../scripts/lib/ports.ts';
import { DEFAULT_NATS_URL } from '../../scripts/lib/services.ts';
import { connectNats, splitServers } from './nats.ts';

const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;

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
