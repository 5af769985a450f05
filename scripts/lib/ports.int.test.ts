import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { ephemeralPorts, freePort } from './ports.ts';

describe('freePort', () => {
  it('gives ports outside the range of outgoing connections, each one a process can listen on', async () => {
    const ephemeral = await ephemeralPorts();
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port >= ephemeral.first && port <= ephemeral.last).toBe(false);
      expect(port).toBeGreaterThanOrEqual(10_000);
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never gives a port something listens on', async () => {
    // Holds each port it gives: without its check, a random pick among some 27,000 ports would
    // hit one of a thousand held ones about 18 times over.
    const held: net.Server[] = [];
    const taken = new Set<number>();
    try {
      for (let i = 0; i < 1000; i++) {
        const port = await freePort();
        expect(taken.has(port)).toBe(false);
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
        held.push(server);
        taken.add(port);
      }
    } finally {
      await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
