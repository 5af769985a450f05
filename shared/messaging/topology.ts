// The JetStream topology: one stream per owning service (DESIGN: "Subjects"), the durable pull
// consumers that compete for its messages, and the dead-letter stream. Every process calls
// `ensureStreams` at start; creating is idempotent, so start-up order does not matter. Who may
// publish, pull or change what: nats/permissions.ts.
import type { JetStreamManager, StreamConfig, ConsumerConfig } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';

const DAY_NANOS = 24 * 60 * 60 * 1_000_000_000;
const SECOND_NANOS = 1_000_000_000;

/**
 * `owner`: the service that keeps the stream's configuration current (see ensureStreams).
 * `maxAgeDays` 0: kept however old. `latestPerSubject`: only the newest message of each subject is
 * kept (a compacted log, state rather than history).
 */
export const STREAMS = {
  /**
   * One subject per user (`users.evt.user_changed.<userId>`), its latest event kept for good: a
   * consumer that starts late, or is reset, still receives every user once, as it is now.
   */
  USERS: { subjects: ['users.>'], maxAgeDays: 0, owner: 'users', latestPerSubject: true },
  PRODUCTS: { subjects: ['products.>'], maxAgeDays: 30, owner: 'products' },
  INVENTORY: { subjects: ['inventory.>'], maxAgeDays: 7, owner: 'inventory' },
  PAYMENTS: { subjects: ['payments.>'], maxAgeDays: 7, owner: 'payments' },
  ORDERS: { subjects: ['orders.>'], maxAgeDays: 7, owner: 'orders' },
  /** Poison messages, kept for an operator to inspect and replay (`npm run dlq`). */
  DEAD_LETTERS: { subjects: ['dlq.>'], maxAgeDays: 30, owner: 'orders' },
} as const satisfies Record<
  string,
  { subjects: readonly string[]; maxAgeDays: number; owner: string; latestPerSubject?: boolean }
>;
export type StreamName = keyof typeof STREAMS;

/** A message neither acked nor nak'ed (nor reported in progress) is delivered again after this. */
export const ACK_WAIT_MS = 15_000;

/** How many times a failing message is delivered before it is dead-lettered (settling.ts). */
export const MAX_DELIVER = 8;

/** `service`: the one that runs the consumer (and alone may pull from it: nats/permissions.ts). */
export const CONSUMERS = {
  'inventory-commands': { stream: 'INVENTORY', filter: 'inventory.cmd.>', service: 'inventory' },
  'payments-commands': { stream: 'PAYMENTS', filter: 'payments.cmd.>', service: 'payments' },
  'orders-inventory-events': { stream: 'INVENTORY', filter: 'inventory.evt.>', service: 'orders' },
  'orders-payment-events': { stream: 'PAYMENTS', filter: 'payments.evt.>', service: 'orders' },
  'orders-product-events': { stream: 'PRODUCTS', filter: 'products.evt.>', service: 'orders' },
  /** Ends the saga of an order whose message was dead-lettered. */
  'orders-dead-letters': { stream: 'DEAD_LETTERS', filter: 'dlq.>', service: 'orders' },
  // Notifications: every order status change (it writes on some, keeps the order as placed from
  // PENDING), its copies of users and product names, and the low-stock alerts. What it writes
  // about starts when its consumer is made (`fromNew`): deployed onto a running shop it does not
  // email a week of status changes and alerts from the streams; its copies read everything.
  'notifications-order-events': {
    stream: 'ORDERS',
    filter: 'orders.evt.status.>',
    service: 'notifications',
    fromNew: true,
  },
  'notifications-user-events': { stream: 'USERS', filter: 'users.evt.>', service: 'notifications' },
  'notifications-product-events': { stream: 'PRODUCTS', filter: 'products.evt.>', service: 'notifications' },
  'notifications-stock-events': {
    stream: 'INVENTORY',
    filter: 'inventory.evt.stock_low',
    service: 'notifications',
    fromNew: true,
  },
} as const satisfies Record<
  string,
  { stream: StreamName; filter: string; service: string; fromNew?: boolean }
>;
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
  /**
   * The service ensuring the streams: it creates any that is missing (so start-up order does
   * not matter) but updates only those it owns, the only ones its NATS user may change.
   * Default: updates all of them (tools and tests connected as admin or anonymously).
   */
  readonly service?: string;
}

function streamConfig(
  options: TopologyOptions,
  stream: StreamName,
): Partial<StreamConfig> & { name: string } {
  const def: (typeof STREAMS)[StreamName] & { latestPerSubject?: boolean } = STREAMS[stream];
  return {
    name: streamName(options.namespace, stream),
    subjects: def.subjects.map((s) => qualify(options.namespace, s)),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: def.maxAgeDays * DAY_NANOS,
    ...(def.latestPerSubject && { max_msgs_per_subject: 1 }),
    // JetStream drops a second publish with the same Nats-Msg-Id inside this window: the outbox
    // relay may publish a row again after a crash between publish and delete.
    duplicate_window: 2 * 60 * SECOND_NANOS,
    num_replicas: options.replicas,
  };
}

/** Creates the streams that are missing and updates those that differ; returns the names of those it created. */
export async function ensureStreams(jsm: JetStreamManager, options: TopologyOptions): Promise<string[]> {
  const created: string[] = [];
  for (const stream of Object.keys(STREAMS) as StreamName[]) {
    const config = streamConfig(options, stream);
    try {
      const current = (await jsm.streams.info(config.name)).config;
      // Only a change is sent: in a cluster every update is a proposal all nodes must agree on,
      // and a dozen processes starting together would otherwise each send one per stream.
      const owned = options.service === undefined || STREAMS[stream].owner === options.service;
      if (owned && differs(current, config)) await jsm.streams.update(config.name, config);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await jsm.streams.add(config);
        created.push(config.name);
      } catch (addErr) {
        // Another process created it between our look-up and our add.
        if (!/already in use/i.test(String(addErr))) throw addErr;
      }
    }
  }
  return created;
}

/**
 * Creates the consumer if it is missing, else updates it. `from`: the stream sequence a consumer
 * created here starts at (one made again after it vanished, consumer.ts); by default it starts
 * as declared, at the stream's first message or (`fromNew`) at the next one.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  options: TopologyOptions,
  consumer: ConsumerName,
  from?: number,
): Promise<void> {
  const def: (typeof CONSUMERS)[ConsumerName] & { fromNew?: boolean } = CONSUMERS[consumer];
  const config: Partial<ConsumerConfig> = {
    durable_name: consumerName(options.namespace, consumer),
    ack_policy: AckPolicy.Explicit,
    filter_subject: qualify(options.namespace, def.filter),
    // A handler that neither acks nor naks (process killed) gets its message back after this.
    ack_wait: (ACK_WAIT_MS / 1000) * SECOND_NANOS,
    // No limit on the server: the consumer dead-letters a message itself once MAX_DELIVER
    // deliveries have failed (settling.ts), and delivers it again if that publish fails. A limit
    // here would end deliveries at MAX_DELIVER whether or not the dead letter was written (a
    // NATS reconnect, the process killed meanwhile), and the message would be gone without a trace.
    max_deliver: -1,
    max_ack_pending: 2000,
  };
  const stream = streamName(options.namespace, def.stream);
  try {
    await jsm.consumers.info(stream, config.durable_name!);
    // Where a consumer starts is fixed when it is made (JetStream refuses to change it).
    await jsm.consumers.update(stream, config.durable_name!, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, {
      ...config,
      ...(from === undefined
        ? { deliver_policy: def.fromNew ? DeliverPolicy.New : DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }),
    });
  }
}

/** True when `wanted` sets a field to something other than what `current` has. */
function differs(current: object, wanted: object): boolean {
  const have = current as Record<string, unknown>;
  return Object.entries(wanted).some(([key, value]) => JSON.stringify(have[key]) !== JSON.stringify(value));
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String(err));
}
