// The processes of the system, their default ports and where their files live: the one list
// the launcher, the composition script, the test harness and the config tests all read.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The subgraphs, in the order they are listed everywhere (users first: others verify its tokens). */
export const SUBGRAPHS = ['users', 'products', 'inventory', 'orders', 'payments', 'notifications'] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];

export const PROCESSES = [...SUBGRAPHS, 'gateway'] as const;
export type ProcessName = (typeof PROCESSES)[number];

export const DEFAULT_PORTS: Readonly<Record<ProcessName, number>> = {
  gateway: 4000,
  users: 4001,
  products: 4002,
  inventory: 4003,
  orders: 4004,
  payments: 4005,
  notifications: 4006,
};

/**
 * Each process's V8 heap limits, in MiB, unless NODE_OPTIONS sets them: the old generation
 * (`--max-old-space-size`) and each of the young generation's semi-spaces
 * (`--max-semi-space-size`). Why set them at all: without flags V8 sizes both from the machine's
 * memory. On a machine with many GiB a process lets its old generation grow to several times
 * what is live before it collects, and grows its young generation step by step for many
 * minutes, so its memory depends on the machine and jumps by tens of MiB whenever V8 decides
 * to grow, which hides a real leak in the noise. Limits sized for the process (as a container's
 * memory limit gives in production) keep the heap close to what is live and reach their steady
 * size within the first minute of load. Objects of a request live for milliseconds, so a small
 * young generation costs little: a scavenge's work is what survives it, not its size. The
 * gateway holds the live subscriptions and the query-plan caches, hence its larger share.
 */
export const HEAP_LIMIT_MIB: Readonly<Record<ProcessName, number>> = {
  gateway: 1024,
  users: 512,
  products: 512,
  inventory: 512,
  orders: 512,
  payments: 512,
  notifications: 512,
};
export const SEMI_SPACE_MIB = 16;

/** NODE_OPTIONS with the process's heap limits added, each unless the options already set it. */
export function withHeapLimit(nodeOptions: string | undefined, name: ProcessName): string {
  let options = nodeOptions?.trim() ?? '';
  const limits = { 'old-space': HEAP_LIMIT_MIB[name], 'semi-space': SEMI_SPACE_MIB };
  for (const [space, mib] of Object.entries(limits)) {
    const flag = `--max-${space}-size`;
    const pattern = new RegExp(`${flag.replaceAll('-', '[-_]')}\\b`);
    if (!pattern.test(options)) options = `${options} ${flag}=${mib}`.trim();
  }
  return options;
}

/** The gateway's environment variable that overrides a subgraph's URL in the supergraph file. */
export const SUBGRAPH_URL_ENV: Readonly<Record<SubgraphName, string>> = {
  users: 'USERS_URL',
  products: 'PRODUCTS_URL',
  inventory: 'INVENTORY_URL',
  orders: 'ORDERS_URL',
  payments: 'PAYMENTS_URL',
  notifications: 'NOTIFICATIONS_URL',
};

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_SUPERGRAPH_PATH = path.join(REPO_ROOT, 'gateway', 'supergraph.graphql');
/** Where `npm start` keeps the data of what it starts, unless told otherwise. */
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, '.data');
/** The file in the data directory that holds the SERVICE_SECRET of the running `npm start`. */
export const SERVICE_SECRET_FILE = 'service-secret';

export function isSubgraph(name: string): name is SubgraphName {
  return (SUBGRAPHS as readonly string[]).includes(name);
}

/** The file a process runs, relative to the repository root (as the Dockerfile and compose use it). */
export function entryFile(name: ProcessName): string {
  return name === 'gateway' ? 'gateway/src/main.ts' : `subgraphs/${name}/src/main.ts`;
}

/** A subgraph's schema, relative to the repository root. */
export function schemaFile(name: SubgraphName): string {
  return `subgraphs/${name}/src/schema.graphql`;
}

export function graphqlUrl(port: number, host = '127.0.0.1'): string {
  return `http://${host}:${port}/graphql`;
}

export function defaultSubgraphUrls(): Record<SubgraphName, string> {
  return Object.fromEntries(SUBGRAPHS.map((name) => [name, graphqlUrl(DEFAULT_PORTS[name])])) as Record<
    SubgraphName,
    string
  >;
}
