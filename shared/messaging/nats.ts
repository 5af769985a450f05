// One NATS connection per process. It reconnects forever: a restarted NATS server must never
// take a service down, only pause its messaging.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../logger.ts';
import type { ReadinessCheck } from '../http/server.ts';

export type { NatsConnection };

export async function connectNats(url: string, name: string, logger: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
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
