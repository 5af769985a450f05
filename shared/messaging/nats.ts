// One NATS connection per process. It reconnects forever: a restarted NATS server must never
// take a service down, only pause its messaging. Given several servers (a JetStream cluster's
// nodes, NATS_URL=nats://a:4222,nats://b:4222), it connects to one and, when that one goes,
// to another; the client also learns the cluster's other nodes from the server it reaches.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../logger.ts';
import type { ReadinessCheck } from '../http/server.ts';
import { inboxPrefix, type NatsCredential } from '../../nats/credentials.ts';

export type { NatsConnection };

/**
 * `servers`: one URL, a comma-separated list of them, or a list. Connects as `credentials`'
 * user when given (each process has its own: nats/permissions.ts), with that user's inbox
 * prefix, the only inboxes the server lets it read.
 */
export async function connectNats(
  servers: string | readonly string[],
  name: string,
  logger: Logger,
  credentials?: NatsCredential,
): Promise<NatsConnection> {
  const nc = await connect({
    servers: typeof servers === 'string' ? splitServers(servers) : [...servers],
    name,
    ...(credentials
      ? { user: credentials.user, pass: credentials.password, inboxPrefix: inboxPrefix(credentials.user) }
      : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    // Every JetStream publish is a request; by default each one captures a stack trace up front
    // in case it fails, which was ~4% of the orders service's CPU under load. Our errors are
    // logged where they are caught, so the extra trace buys nothing.
    noAsyncTraces: true,
  });
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
