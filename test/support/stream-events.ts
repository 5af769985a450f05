// The messages a service publishes, read from its JetStream stream in stream order, for
// integration tests that check what a producer published (after its outbox relay sent it).
//
//   const events = await StreamEvents.open(env.resources, 'USERS', 'users.evt.>');
//   try { const e = await events.next(); ... } finally { await events.close(); }
import { DeliverPolicy, jetstream, type Consumer } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { qualify, streamName, unqualify, type StreamName } from '../../shared/messaging/topology.ts';
import type { TestResources } from './system.ts';

export interface StreamEvent<P = Record<string, unknown>> {
  /** Without the namespace, e.g. `users.evt.user_changed.<userId>`. */
  readonly subject: string;
  readonly payload: P;
}

export class StreamEvents {
  readonly #nc: NatsConnection;
  readonly #consumer: Consumer;
  readonly #namespace: string;

  private constructor(nc: NatsConnection, consumer: Consumer, namespace: string) {
    this.#nc = nc;
    this.#consumer = consumer;
    this.#namespace = namespace;
  }

  /** Reads `stream` of the namespace from its first message (an ordered consumer), only `filter` if given. */
  static async open(
    resources: Pick<TestResources, 'natsUrl' | 'natsNamespace' | 'natsCredential'>,
    stream: StreamName,
    filter?: string,
  ): Promise<StreamEvents> {
    const { natsUrl, natsNamespace, natsCredential } = resources;
    const nc = await connect({
      servers: natsUrl,
      ...(natsCredential && { user: natsCredential.user, pass: natsCredential.password }),
    });
    try {
      const consumer = await jetstream(nc).consumers.get(streamName(natsNamespace, stream), {
        deliver_policy: DeliverPolicy.All,
        // One subject as a string: nats.js then sets `filter_subject`, which nats-server 2.9 knows.
        ...(filter && { filter_subjects: qualify(natsNamespace, filter) }),
      });
      return new StreamEvents(nc, consumer, natsNamespace);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** The next message; fails when none arrives within `timeoutMs`. */
  async next<P = Record<string, unknown>>(timeoutMs = 15_000): Promise<StreamEvent<P>> {
    const msg = await this.#consumer.next({ expires: timeoutMs });
    if (!msg) throw new Error(`no message within ${timeoutMs} ms`);
    return { subject: unqualify(this.#namespace, msg.subject), payload: msg.json<P>() };
  }

  /** The next `count` messages, in stream order. */
  async take<P = Record<string, unknown>>(count: number, timeoutMs?: number): Promise<StreamEvent<P>[]> {
    const events: StreamEvent<P>[] = [];
    while (events.length < count) events.push(await this.next<P>(timeoutMs));
    return events;
  }

  close(): Promise<void> {
    return this.#nc.close();
  }
}
