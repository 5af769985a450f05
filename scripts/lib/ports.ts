// The ports of the system's processes: the defaults, those given, or ones the OS has free.
//
// Free ports are picked outside the range the kernel hands to outgoing connections. A port
// the OS chooses for `listen(0)` comes from that range, and between picking it and the process
// meant for it binding it, any connection opened meanwhile (to PostgreSQL, NATS, a subgraph)
// may get it as its local port: the process then fails with EADDRINUSE. Port finders on npm
// (get-port, detect-port, portfinder) ask for port 0 or scan upwards from a base, so they have
// the same gap; hence this one.
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { DEFAULT_PORTS, type ProcessName } from './services.ts';
import { ManagedProcess } from './managed-process.ts';
import type { StartSystemOptions } from './processes.ts';

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** Below this are the ports people give their own servers by hand (3000, 4222, 5432, 8080 …). */
const LOWEST = 10_000;
/** IANA's dynamic ports, what macOS and Windows use for outgoing connections. */
const IANA_EPHEMERAL: PortRange = { first: 49_152, last: 65_535 };

let ephemeralRange: Promise<PortRange> | undefined;

/**
 * The kernel's range for outgoing connections' local ports (Linux), else IANA's. Read once per
 * process: a system's start asks for a port per process.
 */
export function ephemeralPorts(): Promise<PortRange> {
  return (ephemeralRange ??= readEphemeralPorts());
}

async function readEphemeralPorts(): Promise<PortRange> {
  let text: string;
  try {
    text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
  } catch {
    return IANA_EPHEMERAL; // Not Linux.
  }
  const [first = NaN, last = NaN] = text.trim().split(/\s+/).map(Number);
  if (Number.isInteger(first) && Number.isInteger(last) && first <= last) return { first, last };
  return IANA_EPHEMERAL;
}

/** Pure: the ports from LOWEST up that no outgoing connection is given, as ranges. */
export function listenablePorts(ephemeral: PortRange): PortRange[] {
  const ranges: PortRange[] = [];
  if (ephemeral.first - 1 >= LOWEST) ranges.push({ first: LOWEST, last: ephemeral.first - 1 });
  const above = Math.max(LOWEST, ephemeral.last + 1);
  if (above <= 65_535) ranges.push({ first: above, last: 65_535 });
  return ranges;
}

/** Pure: the `n`-th port of `ranges` counted from the first (n below their total size). */
export function portAt(ranges: readonly PortRange[], n: number): number {
  for (const { first, last } of ranges) {
    const size = last - first + 1;
    if (n < size) return first + n;
    n -= size;
  }
  throw new RangeError(`no port number ${n} in the ranges`);
}

/**
 * Listens on `port` of `host` (0: a port the OS chooses) and closes again: the port it got, or
 * undefined when it could not listen there.
 */
function listenOnce(port: number, host: string): Promise<number | undefined> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A free TCP port on host, outside the ports given to outgoing connections (see the top of
 * this file), from a random place in them so that test files starting side by side rarely
 * try the same. Released again before it returns.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const ranges = listenablePorts(await ephemeralPorts());
  if (ranges.length > 0) return freePortIn(ranges, host);
  // A machine whose outgoing connections may use every port from 10,000 up: the OS's choice.
  const port = await listenOnce(0, host);
  if (port === undefined) throw new Error(`cannot listen on ${host}`);
  return port;
}

/**
 * The first port of `ranges` that `host` can listen on now, counting from a random one (and
 * round to the start): what freePort searches. Gives up after 1,000 taken ports.
 */
export async function freePortIn(ranges: readonly PortRange[], host: string): Promise<number> {
  const size = ranges.reduce((sum, r) => sum + r.last - r.first + 1, 0);
  const start = Math.floor(Math.random() * size);
  const tries = Math.min(size, 1000);
  for (let i = 0; i < tries; i++) {
    const port = portAt(ranges, (start + i) % size);
    if ((await listenOnce(port, host)) !== undefined) return port;
  }
  throw new Error(`no free port on ${host} in the ${tries} tried`);
}

/** One ManagedProcess per instance of each selected process, each with its port. */
export async function allocate(
  selected: readonly ProcessName[],
  options: StartSystemOptions,
  host: string,
): Promise<ManagedProcess[]> {
  const ports = options.ports ?? 'fixed';
  const fixedPort = (name: ProcessName): number | undefined =>
    ports === 'free'
      ? undefined
      : ports === 'fixed'
        ? DEFAULT_PORTS[name]
        : (ports[name] ?? DEFAULT_PORTS[name]);
  // Fixed ports are reserved first, so no free port picked later can be one of them.
  const taken = new Set<number>();
  for (const name of selected) {
    const port = fixedPort(name);
    if (port === undefined) continue;
    if (taken.has(port)) throw new Error(`startSystem: port ${port} is given twice`);
    taken.add(port);
  }
  const probeHost = host === 'localhost' ? '127.0.0.1' : host;
  const pickFree = async (): Promise<number> => {
    for (;;) {
      const port = await freePort(probeHost);
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const result: ManagedProcess[] = [];
  for (const name of selected) {
    const count = options.instances?.[name] ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`startSystem: instances.${name} must be >= 1`);
    for (let instance = 1; instance <= count; instance += 1) {
      const port = (instance === 1 ? fixedPort(name) : undefined) ?? (await pickFree());
      result.push(new ManagedProcess(name, instance, port, host));
    }
  }
  return result;
}
