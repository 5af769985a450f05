// Every message published under a test's NATS namespace, kept as it arrives, and a way to
// await one: what the test publishes and what the subgraph under test sends (its commands and
// status events). A test waits for the message that proves a step happened, never for a time.
//
//   const log = await logMessages(nc, env.id);
//   await log.next((m) => m.subject === `orders.evt.status.${orderId}`);
import type { NatsConnection } from '@nats-io/transport-node';
import { unqualify } from '../../shared/messaging/topology.ts';

export interface LoggedMessage {
  /** Without the namespace, e.g. `inventory.cmd.release`. */
  readonly subject: string;
  readonly payload: Record<string, unknown>;
}

type Match = (message: LoggedMessage) => boolean;

export interface MessageLog {
  /** The first message, seen already or still to come, that `matches`; rejects after `timeoutMs`. */
  next(matches: Match, timeoutMs?: number): Promise<LoggedMessage>;
  /** The messages seen so far that match, in arrival order. */
  seen(matches: Match): LoggedMessage[];
  stop(): void;
}

/** Starts logging; resolves once the NATS server has the subscription (nothing later is missed). */
export async function logMessages(nc: NatsConnection, namespace: string): Promise<MessageLog> {
  const messages: LoggedMessage[] = [];
  const waiters = new Set<{ matches: Match; resolve: (m: LoggedMessage) => void }>();
  const subscription = nc.subscribe(`${namespace}.>`, {
    callback: (err, msg) => {
      if (err) return;
      const message = {
        subject: unqualify(namespace, msg.subject),
        payload: msg.json<Record<string, unknown>>(),
      };
      messages.push(message);
      for (const waiter of waiters) {
        if (!waiter.matches(message)) continue;
        waiters.delete(waiter);
        waiter.resolve(message);
      }
    },
  });
  await nc.flush();
  return {
    next(matches, timeoutMs = 15_000) {
      const found = messages.find(matches);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `no such message within ${timeoutMs} ms; the last seen: ${JSON.stringify(messages.slice(-20))}`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          matches,
          resolve: (m: LoggedMessage) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        waiters.add(waiter);
      });
    },
    seen: (matches) => messages.filter(matches),
    stop: () => subscription.unsubscribe(),
  };
}
