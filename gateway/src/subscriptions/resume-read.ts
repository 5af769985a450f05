// What a resuming subscriber (`afterSequence`) needs read before it follows its order: not the
// order's current state, which it is not sent, only where the order stands (its statusSequence
// and status) and whether the subscriber may see it at all. That is one field pair of the orders
// subgraph instead of the client's whole selection across the supergraph, and it goes in one
// query with the same user's other resumes, as first states do (first-state.ts).
//
// When clients reconnect to a restarted gateway, most of them resume where they were.
import { parse, type FieldNode, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import type { Identity } from '../../../shared/auth/identity.ts';
import { rightsScope } from '../../../shared/auth/policies.ts';
import type { QueryLimits } from '../limits/query-limits.ts';
import type { Feed } from './feeds.ts';
import {
  batchTemplate,
  ordersPerQuery,
  type BatchTemplate,
  type FirstStateReader,
  type StateRead,
} from './first-state.ts';
import { shape, type ResultKeys } from './shaped.ts';

const QUERY = 'query ResumePoint($id: ID!) { order(id: $id) { statusSequence status } }';
const document = parse(QUERY);
const operation = document.definitions[0] as OperationDefinitionNode;

const TEMPLATE = ((): BatchTemplate => {
  const template = batchTemplate({
    operation,
    root: operation.selectionSet.selections[0] as FieldNode,
    variableDefinitions: operation.variableDefinitions ?? [],
    fragments: [],
    usedBySelection: new Set(),
  });
  if (!template) throw new Error('the resume-point query takes its order id as a variable, so it batches');
  return template;
})();

/**
 * What each order adds to a batched resume-point query: its alias, the order and its two
 * fields, and about 20 tokens (alias, field, argument, variable and its definition, selection).
 */
const PER_ORDER = { aliases: 1, cost: 3, tokens: 20 } as const;

/** Orders one resume-point query may read within the gateway's query limits. */
export function resumeBatchSize(limits: QueryLimits): number {
  return ordersPerQuery(limits, PER_ORDER);
}

/** The read of where `orderId` stands, for FirstStateReader, and where its answer is (for shape). */
export function resumeRead(orderId: string, batchSize: number): StateRead & ResultKeys {
  return {
    orderId,
    currentQuery: QUERY,
    variables: { id: orderId },
    operationName: 'ResumePoint',
    batch: TEMPLATE,
    batchSize,
    responseKey: 'order',
    sequenceKey: 'statusSequence',
    statusKey: 'status',
  };
}

/** Where an order stands, as a subscriber may see it, or why it may not. */
export type Position =
  | { readonly ok: true; readonly sequence: number; readonly status: string; readonly result?: undefined }
  | { readonly ok: false; readonly errors: readonly GraphQLFormattedError[] };

/**
 * Where the order stands as `identity` sees it, read (in one query with the same user's other
 * reads): for a resuming subscriber, and for the engine's resync after a NATS reconnect.
 */
export async function readPosition(
  reader: FirstStateReader,
  orderId: string,
  identity: Identity,
  batchSize: number,
): Promise<Position> {
  const read = resumeRead(orderId, batchSize);
  const point = shape(await reader.read(read, identity), read);
  return point.ok ? { ok: true, sequence: point.sequence, status: point.status } : point;
}

export class ResumePoints {
  readonly #reader: FirstStateReader;
  readonly #batchSize: number;
  readonly #onRead: () => void;
  /**
   * Reads in flight, by feed and rights. By feed, not by order: a read begun under a feed that
   * has since been dropped may miss changes made before the current feed listened.
   */
  readonly #reading = new WeakMap<Feed, Map<string, Promise<Position>>>();

  /** `onRead` is told of each order read (batched or not). */
  constructor(reader: FirstStateReader, batchSize: number, onRead: () => void) {
    this.#reader = reader;
    this.#batchSize = batchSize;
    this.#onRead = onRead;
  }

  /**
   * Where the order stands for a subscriber resuming after `afterSequence`: from what its feed
   * knows when it can tell (Feed.known), else read as the subscriber, which also decides
   * whether it may see the order. A read in flight under this feed with the same rights is shared
   * when it reaches the client's sequence; it may have begun before the client saw a newer one
   * (from another gateway), and then only a read of its own tells whether that sequence exists.
   */
  async of(feed: Feed, afterSequence: number, identity: Identity): Promise<Position> {
    const rights = rightsScope(identity);
    const known = feed.known(rights, afterSequence);
    if (known) return { ok: true, ...known };
    const inFlight = this.#reading.get(feed)?.get(rights);
    if (inFlight) {
      const point = await inFlight;
      if (!point.ok || afterSequence <= point.sequence) return point;
    }
    return this.#read(feed, rights, identity);
  }

  #read(feed: Feed, rights: string, identity: Identity): Promise<Position> {
    this.#onRead();
    const pending = readPosition(this.#reader, feed.orderId, identity, this.#batchSize);
    let reads = this.#reading.get(feed);
    if (!reads) this.#reading.set(feed, (reads = new Map<string, Promise<Position>>()));
    reads.set(rights, pending);
    const forget = () => {
      if (reads.get(rights) === pending) reads.delete(rights);
    };
    pending.then(forget, forget);
    return pending;
  }
}
