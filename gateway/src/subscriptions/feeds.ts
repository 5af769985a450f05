// The engine's bookkeeping (see engine.ts for what each one is): a Feed per order, its Groups of
// subscribers that share executions, and each Subscriber's position in the order's changes.
import type { Subscription } from '@nats-io/nats-core';
import type { Identity } from '../../../shared/auth/identity.ts';
import { rightsScope } from '../../../shared/auth/policies.ts';
import { stableJson } from './stable-json.ts';
import { LiveStream } from './live-stream.ts';
import type { Transport } from './metrics.ts';
import type { PreparedSubscription } from './operation.ts';
import type { Shaped, ShapedResult } from './shaped.ts';

/** The transport's side of one subscriber. */
export interface Sink {
  readonly transport: Transport;
  /** The client's connection (its WebSocket, or the SSE response), for per-connection caps. */
  readonly connection: object;
  /** Bytes written to the socket but not yet sent. */
  bufferedBytes(): number;
  /** Drops the client: `slow` when it does not keep up, `shutdown` when the gateway stops. */
  close(reason: 'slow' | 'shutdown'): void;
}

export class Subscriber {
  readonly group: Group;
  readonly identity: Identity;
  readonly sink: Sink;
  readonly stream: LiveStream;
  /** The sequence of the last event sent (or the one a resuming client said it saw last). */
  last = 0;
  /** Once `last` means something: the current state sent, or the resume point taken. */
  started = false;
  /** The newest sequence heard of. */
  target = 0;
  catchingUp = false;
  counted = false;

  constructor(group: Group, identity: Identity, sink: Sink, onClose: (s: Subscriber) => void) {
    this.group = group;
    this.identity = identity;
    this.sink = sink;
    this.stream = new LiveStream(() => onClose(this));
  }
}

export class Group {
  readonly key: string;
  readonly prepared: PreparedSubscription;
  readonly subscribers = new Set<Subscriber>();
  /** Executions by sequence, shared by the group's subscribers; dropped once all are past them. */
  readonly results = new Map<number, Promise<Shaped>>();
  /** A read of the current state in flight, which subscribers joining meanwhile share. */
  current: Promise<Shaped> | undefined;
  /**
   * The last current state read for the group, and when that read started. A newcomer may start
   * from it while it is younger than firstStateMaxAgeMs: the feed has listened since before that
   * read began (the group, and so the feed, has had members ever since), so every change after
   * its sequence reaches the newcomer as an event, and the order's own fields are exact. Only
   * what other subgraphs add (a payment's status, stock) may be that old in the first event, as
   * it is for the members who started from it.
   */
  fresh: { readonly state: ShapedResult; readonly at: number } | undefined;

  constructor(key: string, prepared: PreparedSubscription) {
    this.key = key;
    this.prepared = prepared;
  }

  /** Whose token the shared executions use: the member whose token lasts longest. */
  identity(): Identity | undefined {
    let best: Identity | undefined;
    for (const s of this.subscribers) {
      if (!best || s.identity.expiresAt > best.expiresAt) best = s.identity;
    }
    return best;
  }

  prune(): void {
    if (this.results.size === 0) return;
    let oldest = Infinity;
    for (const s of this.subscribers) if (s.started && s.last < oldest) oldest = s.last;
    for (const sequence of this.results.keys()) if (sequence <= oldest) this.results.delete(sequence);
  }
}

export class Feed {
  readonly orderId: string;
  readonly groups = new Map<string, Group>();
  subscription: Subscription | undefined;
  ready: Promise<void> = Promise.resolve();
  /** The newest sequence heard of (from events, and from reads that started once `ready`). */
  maxSeen = 0;
  /** The order's status at maxSeen, once an event or a read has told it. */
  status: string | undefined;
  /**
   * Rights (rightsScope) under which a read of the order succeeded while this feed listened:
   * who may see it. Who owns an order never changes, so this holds as long as the feed does.
   */
  readonly readers = new Set<string>();
  size = 0;

  constructor(orderId: string) {
    this.orderId = orderId;
  }

  /** Takes in a sequence and the status it came with, from an event or a read. */
  heard(sequence: number, status: string): void {
    if (this.status !== undefined && sequence <= this.maxSeen) return;
    this.maxSeen = sequence;
    this.status = status;
  }

  /**
   * Where the order stands for a reader with `rights` who saw `afterSequence`, if this feed
   * knows without a read: those rights have read it here, and the feed has heard of that
   * sequence. The feed has listened since before that read began, so every change after what
   * it knows reaches it as an event. A client may have seen a newer sequence elsewhere (another
   * gateway): then only a read tells whether it exists.
   */
  known(rights: string, afterSequence: number): { sequence: number; status: string } | undefined {
    if (!this.readers.has(rights) || this.status === undefined || afterSequence > this.maxSeen)
      return undefined;
    return { sequence: this.maxSeen, status: this.status };
  }
}

/**
 * Which group a subscriber joins: the same rights, the same change query (its operation name
 * aside) and the same variables.
 */
export function groupKey(identity: Identity, prepared: PreparedSubscription): string {
  return `${rightsScope(identity)}\n${unnamed(prepared)}\n${stableJson(prepared.variables)}`;
}

/**
 * The change query without its operation name. It is printed by graphql-js from a document
 * whose first definition is the operation, so it starts `query <Name>` exactly.
 */
function unnamed(prepared: PreparedSubscription): string {
  const named = `query ${prepared.operationName ?? ''}`;
  if (prepared.operationName && prepared.changeQuery.startsWith(named)) {
    return `query${prepared.changeQuery.slice(named.length)}`;
  }
  return prepared.changeQuery;
}
