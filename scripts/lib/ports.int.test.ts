import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { ephemeralPorts, freePort, freePortIn } from './ports.ts';

const listen = (port: number): Promise<net.Server | undefined> =>
  new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const close = (server: net.Server) => new Promise((resolve) => server.close(resolve));

describe('freePort', () => {
  it('gives ports outside the range of outgoing connections, each one a process can listen on', async () => {
    const ephemeral = await ephemeralPorts();
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port >= ephemeral.first && port <= ephemeral.last).toBe(false);
      expect(port).toBeGreaterThanOrEqual(10_000);
      const server = await listen(port);
      expect(server).toBeDefined();
      await close(server!);
    }
  });

  it('never gives a port something listens on', async () => {
    // Twenty ports of which only one is free (the others held here, or by whoever had them):
    // a pick that did not check would give a held one 19 times in 20.
    const first = 20_000 + Math.floor(Math.random() * 10_000);
    const range = { first, last: first + 19 };
    const held: net.Server[] = [];
    try {
      for (let port = range.first; port <= range.last; port++) {
        const server = await listen(port);
        if (server) held.push(server);
      }
      expect(held.length).toBeGreaterThan(0);
      const freed = held.pop()!;
      const port = (freed.address() as net.AddressInfo).port;
      await close(freed);
      for (let i = 0; i < 10; i++) expect(await freePortIn([range], '127.0.0.1')).toBe(port);
    } finally {
      await Promise.all(held.map(close));
    }
  });

  it('says so when no port of the ranges is free', async () => {
    const server = await listen(0);
    const { port } = server!.address() as net.AddressInfo;
    try {
      await expect(freePortIn([{ first: port, last: port }], '127.0.0.1')).rejects.toThrow(/no free port/);
    } finally {
      await close(server!);
    }
  });
});
