// The JetStream topology: one stream per owning service (DESIGN: "Subjects"), the durable pull
// consumers that compete for its messages, and the dead-letter stream. Every process calls
// `ensureStreams` at start; creating is idempotent, so start-up order does not matter.
import type { JetStreamManager, StreamConfig, ConsumerConfig } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';

const DAY_NANOS = 24 * 60 * 60 * 1_000_000_000;
const SECOND_NANOS = 1_000_000_000;

export const STREAMS = {
  PRODUCTS: { subjects: ['products.>'], maxAgeDays: 30 },
  INVENTORY: { subjects: ['inventory.>'], maxAgeDays: 7 },
  PAYMENTS: { subjects: ['payments.>'], maxAgeDays: 7 },
  ORDERS: { subjects: ['orders.>'], maxAgeDays: 7 },
  /** Poison messages, kept for an operator to inspect and replay (`npm run dlq`). */
  DEAD_LETTERS: { subjects: ['dlq.>'], maxAgeDays: 30 },
} as const;
export type StreamName = keyof typeof STREAMS;

/** How many times a message is delivered before it is dead-lettered. */
export const MAX_DELIVER = 8;

export const CONSUMERS = {
  'inventory-commands': { stream: 'INVENTORY', filter: 'inventory.cmd.>' },
  'payments-commands': { stream: 'PAYMENTS', filter: 'payments.cmd.>' },
  'orders-inventory-events': { stream: 'INVENTORY', filter: 'inventory.evt.>' },
  'orders-payment-events': { stream: 'PAYMENTS', filter: 'payments.evt.>' },
  'orders-product-events': { stream: 'PRODUCTS', filter: 'products.evt.>' },
  /** Ends the saga of an order whose message was dead-lettered. */
  'orders-dead-letters': { stream: 'DEAD_LETTERS', filter: 'dlq.>' },
} as const satisfies Record<string, { stream: StreamName; filter: string }>;
export type ConsumerName = keyof typeof CONSUMERS;

/** Names carry the namespace so several systems (tests) can share one NATS server. */
export function streamName(namespace: string, stream: StreamName): string {
  return namespace ? `${namespace}_${stream}` : stream;
}
export function consumerName(namespace: string, consumer: ConsumerName): string {
  return namespace ? `${namespace}_${consumer}` : consumer;
}
export function qualify(namespace: string, subject: string): string {
  return namespace ? `${namespace}.${subject}` : subject;
}
export function unqualify(namespace: string, subject: string): string {
  return namespace && subject.startsWith(`${namespace}.`) ? subject.slice(namespace.length + 1) : subject;
}

export interface TopologyOptions {
  readonly namespace: string;
  /** 3 in a cluster; 1 on one server. */
  readonly replicas: number;
}

function streamConfig(
  options: TopologyOptions,
  stream: StreamName,
): Partial<StreamConfig> & { name: string } {
  const def = STREAMS[stream];
  return {
    name: streamName(options.namespace, stream),
    subjects: def.subjects.map((s) => qualify(options.namespace, s)),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: def.maxAgeDays * DAY_NANOS,
    // JetStream drops a second publish with the same Nats-Msg-Id inside this window: the outbox
    // relay may publish a row again after a crash between publish and delete.
    duplicate_window: 2 * 60 * SECOND_NANOS,
    num_replicas: options.replicas,
  };
}

export async function ensureStreams(jsm: JetStreamManager, options: TopologyOptions): Promise<void> {
  for (const stream of Object.keys(STREAMS) as StreamName[]) {
    const config = streamConfig(options, stream);
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, config);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await jsm.streams.add(config);
      } catch (addErr) {
        // Another process created it between our look-up and our add.
        if (!/already in use/i.test(String(addErr))) throw addErr;
      }
    }
  }
}

export async function ensureConsumer(
  jsm: JetStreamManager,
  options: TopologyOptions,
  consumer: ConsumerName,
): Promise<void> {
  const def = CONSUMERS[consumer];
  const config: Partial<ConsumerConfig> = {
    durable_name: consumerName(options.namespace, consumer),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: qualify(options.namespace, def.filter),
    // A handler that neither acks nor naks (process killed) gets its message back after this.
    ack_wait: 15 * SECOND_NANOS,
    max_deliver: MAX_DELIVER,
    max_ack_pending: 2000,
  };
  const stream = streamName(options.namespace, def.stream);
  try {
    await jsm.consumers.info(stream, config.durable_name!);
    await jsm.consumers.update(stream, config.durable_name!, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, config);
  }
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String(err));
}
