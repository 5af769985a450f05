// The ports of the system's processes: the defaults, those given, or ones the OS has free.
import net from 'node:net';
import { DEFAULT_PORTS, type ProcessName } from './services.ts';
import { ManagedProcess } from './managed-process.ts';
import type { StartSystemOptions } from './processes.ts';

/** A free TCP port on host (the OS's choice, released again before it returns). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
