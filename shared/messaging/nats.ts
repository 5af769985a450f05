// One NATS connection per process. It reconnects forever: a restarted NATS server must never
// take a service down, only pause its messaging. Given several servers (a JetStream cluster's
// nodes, NATS_URL=nats://a:4222,nats://b:4222), it connects to one and, when that one goes,
// to another; the client also learns the cluster's other nodes from the server it reaches.
// The first connection is waited for as long as it takes too (a service starts when its NATS
// does), but not silently: every attempt that fails is counted, and the first failure and then
// one every 10 s is logged with the servers tried and why.
import { setTimeout as delay } from 'node:timers/promises';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../logger.ts';
import type { ReadinessCheck } from '../http/server.ts';
import { inboxPrefix, type NatsCredential } from '../../nats/credentials.ts';

export type { NatsConnection };

/** How long one attempt on one server may take, its TCP connection and NATS's handshake. */
export const NATS_DIAL_TIMEOUT_MS = 5000;
/** While the first connection fails, a warning at the first failure, then at most one per this. */
export const NATS_WAIT_WARN_EVERY_MS = 10_000;
/** The pause between two attempts at a first connection (and the client's between reconnects). */
const RETRY_MS = 500;

export interface NatsConnectOptions {
  /** Default NATS_DIAL_TIMEOUT_MS. */
  readonly dialTimeoutMs?: number;
  /** Default NATS_WAIT_WARN_EVERY_MS. */
  readonly warnEveryMs?: number;
}

/**
 * `servers`: one URL, a comma-separated list of them, or a list. Connects as `credentials`'
 * user when given (each process has its own: nats/permissions.ts), with that user's inbox
 * prefix, the only inboxes the server lets it read. Resolves once connected, however long
 * that takes.
 */
export async function connectNats(
  servers: string | readonly string[],
  name: string,
  logger: Logger,
  credentials?: NatsCredential,
  options: NatsConnectOptions = {},
): Promise<NatsConnection> {
  const list = typeof servers === 'string' ? splitServers(servers) : [...servers];
  const nc = await firstConnection(
    {
      servers: list,
      name,
      ...(credentials
        ? { user: credentials.user, pass: credentials.password, inboxPrefix: inboxPrefix(credentials.user) }
        : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: RETRY_MS,
      // Each attempt is one pass over the servers that rejects when none answered: the client's
      // own wait for a first connection (waitOnFirstConnect) retries without a word, and a
      // connection's status events, which say what happens later, exist only once it is made.
      // A server of the list that did not answer the successful pass leaves that connection's
      // pool; a cluster's nodes come back into it from the INFO of the node it reached.
      waitOnFirstConnect: false,
      // The client's default, 20 s, is how long a server that accepts and never answers (or a
      // lost host) holds each attempt, and each reconnection before it tries the next server.
      timeout: options.dialTimeoutMs ?? NATS_DIAL_TIMEOUT_MS,
      // Every JetStream publish is a request; by default each one captures a stack trace up front
      // in case it fails, which was ~4% of the orders service's CPU under load. Our errors are
      // logged where they are caught, so the extra trace buys nothing.
      noAsyncTraces: true,
    },
    list,
    logger,
    options.warnEveryMs ?? NATS_WAIT_WARN_EVERY_MS,
  );
  if (credentials) inboxPrefixes.set(nc, inboxPrefix(credentials.user));
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        logger.warn({ nats: status.type }, `NATS ${status.type}`);
      }
    }
  })().catch(() => undefined);
  return nc;
}

/** Connects, trying again every RETRY_MS until it does, and says so while it cannot. */
async function firstConnection(
  options: NodeConnectionOptions,
  list: readonly string[],
  logger: Logger,
  warnEveryMs: number,
): Promise<NatsConnection> {
  const servers = list.map(withoutCredentials).join(', ');
  const since = Date.now();
  let failures = 0;
  let warnedAt: number | undefined;
  for (;;) {
    try {
      const nc = await connect(options);
      if (failures > 0) {
        logger.info(
          { nats: servers, failures, waitedMs: Date.now() - since },
          `NATS connected after ${failures} failed ${failures === 1 ? 'attempt' : 'attempts'}`,
        );
      }
      return nc;
    } catch (err) {
      failures++;
      const now = Date.now();
      if (warnedAt === undefined || now - warnedAt >= warnEveryMs) {
        warnedAt = now;
        const reason = err instanceof Error ? err.message : String(err);
        logger.warn(
          { nats: servers, failures, waitedMs: now - since, err },
          `cannot connect to NATS at ${servers} (${reason}); still trying`,
        );
      }
      await delay(RETRY_MS);
    }
  }
}

/** A server's URL as it may be logged: its user and password, when the URL holds them, left out. */
function withoutCredentials(server: string): string {
  try {
    const url = new URL(server.includes('://') ? server : `nats://${server}`);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(a server URL that does not parse)';
  }
}

const inboxPrefixes = new WeakMap<NatsConnection, string>();

/** The prefix of the inboxes `nc` may subscribe to (its user's, or the default for a connection without one). */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return inboxPrefixes.get(nc);
}

/** `nats://a:4222,nats://b:4222` → its servers (the client itself takes a list, not this form). */
export function splitServers(servers: string): string[] {
  return servers
    .split(',')
    .map((server) => server.trim())
    .filter(Boolean);
}

export function natsReadiness(nc: NatsConnection): ReadinessCheck {
  return { name: 'nats', check: async () => void (await nc.rtt()) };
}
