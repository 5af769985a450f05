// A JetStream cluster of three nats-server processes on 127.0.0.1, each with its own client,
// cluster and monitoring ports and its own store directory, for the cluster scenario. A node can
// be killed and restarted on the same ports and store; `waitCurrent` waits until every replica
// of the given streams is back in step with its leader.
//
// The configuration leaves `sync_interval` out on nats-server 2.9 (Debian's), which rejects the
// key; from 2.10 it is set to `always` as in nats/nats-server.conf.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from '../../scripts/lib/ports.ts';
import { findExecutable, natsServerVersion } from '../../scripts/lib/nats-server.ts';
import { waitForPort } from '../../scripts/lib/local-servers.ts';

export interface ClusterNode {
  /** Its server_name (`n1`, `n2`, `n3`): what STREAM.INFO names leaders and replicas by. */
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly url: string;
  readonly config: string;
}

export class NatsCluster {
  readonly nodes: readonly ClusterNode[];
  private readonly binary: string;
  private readonly children = new Map<string, ChildProcess>();
  private admin: NatsConnection | undefined;

  private constructor(binary: string, nodes: ClusterNode[]) {
    this.binary = binary;
    this.nodes = nodes;
    // Whatever ends this process, no node outlives it.
    process.once('exit', () => this.children.forEach((child) => child.kill('SIGKILL')));
  }

  /** Starts `size` nodes with their stores under `dir` and waits until JetStream has a meta leader. */
  static async start(dir: string, size = 3): Promise<NatsCluster> {
    const binary = findExecutable('nats-server');
    if (!binary) throw new Error('nats-server is not installed (apt-get install nats-server)');
    const [major, minor] = await natsServerVersion(binary);
    const nodes: ClusterNode[] = [];
    for (let i = 1; i <= size; i++) {
      const [port, clusterPort, monitorPort] = [await freePort(), await freePort(), await freePort()];
      nodes.push({
        name: `n${i}`,
        port,
        clusterPort,
        monitorPort,
        url: `nats://127.0.0.1:${port}`,
        config: path.join(dir, `n${i}.conf`),
      });
    }
    const routes = nodes.map((n) => `nats-route://127.0.0.1:${n.clusterPort}`).join(', ');
    const syncAlways = major > 2 || (major === 2 && minor >= 10) ? '  sync_interval: always\n' : '';
    for (const node of nodes) {
      const store = path.join(dir, node.name);
      await mkdir(store, { recursive: true });
      await writeFile(
        node.config,
        [
          `server_name: ${node.name}`,
          `listen: 127.0.0.1:${node.port}`,
          `http: 127.0.0.1:${node.monitorPort}`,
          `jetstream {\n  store_dir: "${store}"\n${syncAlways}}`,
          `cluster {\n  name: scenario\n  listen: 127.0.0.1:${node.clusterPort}\n  routes: [${routes}]\n}`,
          '',
        ].join('\n'),
      );
    }
    const cluster = new NatsCluster(binary, nodes);
    await Promise.all(nodes.map((node) => cluster.startNode(node.name)));
    await cluster.waitHealthy(60_000);
    return cluster;
  }

  /** Every node's client URL, comma-separated: the NATS_URL of the processes. */
  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  node(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** The process ids of the nodes running now. */
  pids(): number[] {
    return this.nodes.filter((n) => this.running(n.name)).map((n) => this.children.get(n.name)!.pid!);
  }

  running(name: string): boolean {
    const child = this.children.get(name);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** A connection for the scenario's own questions (stream info), to whichever node answers. */
  async manager(): Promise<JetStreamManager> {
    this.admin ??= await connect({
      servers: this.nodes.map((n) => n.url),
      name: 'cluster-scenario',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    // A short time limit: a request lost with a killed node is asked again soon, so the
    // times measured (a new leader, a rejoin) are not the client's timeout.
    return jetstreamManager(this.admin, { timeout: 1000 });
  }

  /** The stream's info, asked again until a node answers (one may be down or electing). */
  async streamInfo(stream: string, timeoutMs = 30_000): Promise<StreamInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await (await this.manager()).streams.info(stream);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  }

  /** The node that leads `stream` now, once there is one (and it is not `not`: a node just killed). */
  async leaderOf(stream: string, not?: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = (await this.streamInfo(stream, timeoutMs)).cluster?.leader;
      if (leader && leader !== not) return leader;
      if (Date.now() > deadline) throw new Error(`${stream} has no leader after ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.children.get(name);
    if (!child || !this.running(name)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Starts a node (again) on its ports and store, and waits until it takes clients. */
  async startNode(name: string): Promise<void> {
    const node = this.node(name);
    let output = '';
    const child = spawn(this.binary, ['-c', node.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
    this.children.set(name, child);
    await waitForPort({ host: '127.0.0.1', port: node.port }, 30_000, () =>
      child.exitCode !== null || child.signalCode !== null ? `${name} exited:\n${output}` : undefined,
    );
  }

  /**
   * Waits until every node answers its health check with JetStream ready, and each of
   * `streams` has a leader and every one of its replicas is current (caught up) and heard from
   * within the last second, the restarted node among them.
   */
  async waitCurrent(streams: readonly string[], timeoutMs: number): Promise<void> {
    await this.waitHealthy(timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (const stream of streams) {
      for (;;) {
        const cluster = (await this.streamInfo(stream, timeoutMs)).cluster;
        const replicas = cluster?.replicas ?? [];
        const expected = this.nodes.length - 1;
        // `active`: nanoseconds since the leader last heard from the replica; a replica last
        // heard from before it was killed may still be listed as current.
        const inStep = (r: (typeof replicas)[number]) => r.current && !r.offline && r.active < 1e9;
        if (cluster?.leader && replicas.length === expected && replicas.every(inStep)) break;
        if (Date.now() > deadline)
          throw new Error(
            `${stream}: replicas not current after ${timeoutMs} ms: ${JSON.stringify(cluster)}`,
          );
        await sleep(200);
      }
    }
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const node of this.nodes) {
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${node.monitorPort}/healthz?js-enabled-only=true`)
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`${node.name} not healthy after ${timeoutMs} ms`);
        await sleep(200);
      }
    }
  }

  async stop(): Promise<void> {
    await this.admin?.close().catch(() => undefined);
    await Promise.all(this.nodes.map((n) => this.kill(n.name, 'SIGTERM')));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
