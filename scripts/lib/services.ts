// The processes of the system, their default ports and where their files live: the one list
// the launcher, the composition script, the test harness and the config tests all read.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The subgraphs, in the order they are listed everywhere (users first: others verify its tokens). */
export const SUBGRAPHS = ['users', 'products', 'inventory', 'orders', 'payments'] as const;
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
};

/** The gateway's environment variable that overrides a subgraph's URL in the supergraph file. */
export const SUBGRAPH_URL_ENV: Readonly<Record<SubgraphName, string>> = {
  users: 'USERS_URL',
  products: 'PRODUCTS_URL',
  inventory: 'INVENTORY_URL',
  orders: 'ORDERS_URL',
  payments: 'PAYMENTS_URL',
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
