// One NATS connection per process. It reconnects forever: a restarted NATS server must never
// take a service down, only pause its messaging.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../logger.ts';
import type { ReadinessCheck } from '../http/server.ts';
import { inboxPrefix, type NatsCredential } from '../../nats/credentials.ts';

export type { NatsConnection };

/**
 * Connects as `credentials`' user when given (each process has its own: nats/permissions.ts),
 * with that user's inbox prefix, the only inboxes the server lets it read.
 */
export async function connectNats(
  url: string,
  name: string,
  logger: Logger,
  credentials?: NatsCredential,
): Promise<NatsConnection> {
  const nc = await connect({
    servers: url,
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
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        logger.warn({ nats: status.type }, `NATS ${status.type}`);
      }
    }
  })().catch(() => undefined);
  return nc;
}

export function natsReadiness(nc: NatsConnection): ReadinessCheck {
  return { name: 'nats', check: async () => void (await nc.rtt()) };
}
