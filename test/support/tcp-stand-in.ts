// A TCP server standing in for a real one (PostgreSQL, NATS), for tests of what a client does
// when its server cannot be reached: it accepts connections and never answers (a hung server,
// or a lost host behind a proxy), until told to forward what connects to the real server from
// then on, as if that one had just come up.
//
//   const server = await startStandIn();                 // silent
//   server.forwardTo({ host: '127.0.0.1', port: 4222 }); // the next connections reach NATS
//   await server.close();

import net from 'node:net';

export interface Target {
  readonly host: string;
  readonly port: number;
}

export interface StandIn {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections accepted from now on are piped to `target`; those held stay silent. */
  forwardTo(target: Target): void;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

export interface StandInOptions {
  /** Default: any free port on 127.0.0.1. */
  readonly port?: number;
  /** Forward from the start (a server that appears on a port where nothing listened). */
  readonly forwardTo?: Target;
}

export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  let target = options.forwardTo;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (!target) return;
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      socket.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    forwardTo(next) {
      target = next;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
