// The subscription engine, independent of the transport (graphql-ws, graphql-sse).
//
//   Feed        one per order on this gateway: one NATS core subscription to
//               `<ns>.orders.evt.status.<orderId>`, shared by everyone watching that order,
//               unsubscribed when the last one leaves.
//   Group       subscribers of one order with the same selection, variables and rights (the
//               same user, or any ADMIN): each status change is executed once for all of them.
//               The operation's name is not part of it (it changes nothing in the result), so
//               clients cannot multiply executions by naming each subscription differently.
//   Subscriber  one client subscription: the last sequence it was sent and a bounded queue.
//
// Those three are kept in feeds.ts, and shaped.ts splits an execution's hidden fields off; this
// file joins and leaves them, reads the first state and runs the delivery loop.
//
// A subscriber joins its feed (and NATS has the subscription) before the current state is read,
// so a change committed after that read always arrives as an event. Anything not newer than
// what the subscriber was last sent is dropped; a gap (an event lost, or one that arrived while
// the current state was being read) is filled by executing the missing sequences with
// `orderAt`. After DELIVERED or CANCELLED the stream ends. A subscriber resuming with
// `afterSequence` starts as if that sequence had been sent to it: no current-state event, and
// the changes since then are that same kind of gap, filled the same way (see resume.ts). Where
// the order stands is all it needs first: known to the feed once a read with the same rights
// has succeeded while it listened, else read, sequence and status only (resume-read.ts).
//
// Starting is the costly part (a query through the supergraph for the current state), and many
// subscribers start at once when clients reconnect to a restarted gateway: a group's members
// starting together share one read, and reads of one user's orders go in one query.
import type { NatsConnection } from '@nats-io/nats-core';
import type { Identity } from '../../../shared/auth/identity.ts';
import { rightsScope } from '../../../shared/auth/policies.ts';
import { validateMessage } from '../../../shared/contracts/index.ts';
import { ErrorCode } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { qualify } from '../../../shared/messaging/topology.ts';
import { Feed, Group, Subscriber, groupKey, type Sink } from './feeds.ts';
import { FirstStateReader } from './first-state.ts';
import type { LiveStream } from './live-stream.ts';
import type { SubscriptionMetrics } from './metrics.ts';
import { RefusedSubscription, requestError, type PreparedSubscription } from './operation.ts';
import { ResumePoints, readPosition } from './resume-read.ts';
import { TERMINAL_STATUSES, planResume } from './resume.ts';
import { shape, toGraphQLError, type LiveResult, type Shaped, type ShapedResult } from './shaped.ts';

export type { Sink } from './feeds.ts';
export type { LiveResult } from './shaped.ts';

/** Runs a query through the gateway itself, as `identity`. */
export type Execute = (
  query: string,
  variables: Readonly<Record<string, unknown>>,
  identity: Identity,
  operationName: string | undefined,
) => Promise<LiveResult>;

export interface EngineOptions {
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly execute: Execute;
  readonly logger: Logger;
  readonly metrics: SubscriptionMetrics;
  /** Events queued for one subscriber before it is dropped as too slow. */
  readonly maxQueuedEvents: number;
  /** Bytes buffered on one subscriber's socket before it is dropped as too slow. */
  readonly maxBufferedBytes: number;
  /** How old a group's current state may be and still start a newcomer (see Group.fresh). */
  readonly firstStateMaxAgeMs: number;
  /** Orders one resume-point (or resync) query may read (resume-read.ts). */
  readonly resumeBatchSize: number;
}

/** How often an event whose execution failed is tried again before the stream ends with the error. */
const EXECUTION_ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;

export class SubscriptionEngine {
  private readonly options: EngineOptions;
  private readonly feeds = new Map<string, Feed>();
  private readonly firstStates: FirstStateReader;
  private readonly resumePoints: ResumePoints;
  private closing = false;

  constructor(options: EngineOptions) {
    this.options = options;
    this.firstStates = new FirstStateReader(options.execute, () => options.metrics.firstStateQueries.inc());
    this.resumePoints = new ResumePoints(this.firstStates, options.resumeBatchSize, () =>
      options.metrics.resumeReads.inc(),
    );
  }

  /** How many orders this gateway listens to, and how many subscribers it serves. */
  get stats(): { feeds: number; subscribers: number; groups: number } {
    let subscribers = 0;
    let groups = 0;
    for (const feed of this.feeds.values()) {
      subscribers += feed.size;
      groups += feed.groups.size;
    }
    return { feeds: this.feeds.size, subscribers, groups };
  }

  /**
   * Starts a subscription: joins the order's feed, reads the current state as `identity` (which
   * decides whether the order may be seen) and returns the stream with that state queued, or,
   * resuming after `afterSequence`, with the changes since then on their way.
   * Throws RefusedSubscription (UNAUTHENTICATED, NOT_FOUND, ...) when it may not start. Also
   * returns the group's prepared operation: holding that one rather than the caller's own
   * copy keeps an idle subscription small.
   */
  async open(
    prepared: PreparedSubscription,
    identity: Identity | null,
    sink: Sink,
  ): Promise<{ stream: LiveStream; shared: PreparedSubscription }> {
    if (!identity)
      throw new RefusedSubscription([requestError(ErrorCode.UNAUTHENTICATED, 'You must be signed in')]);
    if (this.closing) {
      throw new RefusedSubscription([
        requestError(ErrorCode.INTERNAL_SERVER_ERROR, 'The gateway is stopping'),
      ]);
    }
    const feed = this.acquireFeed(prepared.orderId);
    const key = groupKey(identity, prepared);
    let group = feed.groups.get(key);
    if (!group) {
      group = new Group(key, prepared);
      feed.groups.set(key, group);
    }
    const subscriber = new Subscriber(group, identity, sink, (s) => this.leave(feed, s));
    group.subscribers.add(subscriber);
    feed.size += 1;
    this.options.metrics.starting.inc();
    try {
      await feed.ready;
      const after = prepared.afterSequence;
      const current =
        after === undefined
          ? await this.currentState(group, identity)
          : await this.resumePoints.of(feed, after, identity);
      if (!current.ok) throw new RefusedSubscription(current.errors.map(toGraphQLError));
      feed.readers.add(rightsScope(identity));
      feed.heard(current.sequence, current.status);
      const resume = after === undefined ? undefined : planResume(after, current);
      if (resume?.kind === 'refuse') {
        throw new RefusedSubscription([requestError(ErrorCode.BAD_USER_INPUT, resume.message)]);
      }
      subscriber.counted = true;
      this.options.metrics.live.inc({ transport: sink.transport });
      // A current state (not resuming) is the first event; a resume point is only a position.
      if (current.result) this.deliver(subscriber, current);
      else if (resume?.kind === 'complete') subscriber.stream.end();
      else if (resume) {
        // No current-state event: the changes after the client's sequence are executed one by
        // one as the order was then (shared with the group where others need them too), and
        // from there it follows the group's live events like any member.
        subscriber.last = resume.last;
        subscriber.started = true;
      }
      if (!subscriber.stream.isClosed) this.advance(subscriber, Math.max(feed.maxSeen, current.sequence));
      return { stream: subscriber.stream, shared: group.prepared };
    } catch (err) {
      await subscriber.stream.return();
      throw err;
    } finally {
      this.options.metrics.starting.dec();
    }
  }

  /**
   * The order's current state, read as `identity`. A read already in flight for the group is
   * shared: it started after the feed was listening, so nothing after it can be missed, and the
   * group's members have the same rights, so it answers for the newcomer too. So is the group's
   * last read while it is fresh (see Group.fresh). A new read may go in one query with other
   * orders' (first-state.ts).
   */
  private currentState(group: Group, identity: Identity): Promise<Shaped> {
    if (group.current) return group.current;
    const now = Date.now();
    if (group.fresh && now - group.fresh.at < this.options.firstStateMaxAgeMs) {
      return Promise.resolve(group.fresh.state);
    }
    const read = this.readState(group.prepared, identity);
    group.current = read;
    const settle = (state?: Shaped) => {
      if (group.current === read) group.current = undefined;
      // A partial state (a subgraph failed: data with errors) is not handed on: the next
      // newcomer reads again, so a subgraph back up is seen at once, not after the max age.
      if (!state?.ok || state.result.errors || this.options.firstStateMaxAgeMs === 0) return;
      const fresh = { state, at: now };
      group.fresh = fresh;
      // Not kept past its use: an idle group holds no copy of the order.
      setTimeout(() => {
        if (group.fresh === fresh) group.fresh = undefined;
      }, this.options.firstStateMaxAgeMs).unref();
    };
    read.then(settle, () => settle());
    return read;
  }

  private async readState(prepared: PreparedSubscription, identity: Identity): Promise<Shaped> {
    this.options.metrics.firstStateReads.inc();
    return shape(await this.firstStates.read(prepared, identity), prepared);
  }

  /** Drops every subscriber (their transports close them) and every NATS subscription. */
  close(): void {
    this.closing = true;
    for (const feed of [...this.feeds.values()]) {
      for (const group of [...feed.groups.values()]) {
        for (const s of [...group.subscribers]) {
          s.sink.close('shutdown');
          void s.stream.return();
        }
      }
    }
  }

  /**
   * After a NATS reconnect, events may have been missed: read where each order stands again
   * (one query for one user's orders, as resume points are read).
   */
  async resync(): Promise<void> {
    await Promise.all(
      [...this.feeds.values()].map(async (feed) => {
        const identity = [...feed.groups.values()].find((g) => g.subscribers.size > 0)?.identity();
        if (!identity) return;
        try {
          const point = await readPosition(
            this.firstStates,
            feed.orderId,
            identity,
            this.options.resumeBatchSize,
          );
          if (point.ok) this.onSequence(feed, point.sequence, point.status);
        } catch (err) {
          this.options.logger.warn({ err, orderId: feed.orderId }, 'subscription resync failed');
        }
      }),
    );
  }

  private acquireFeed(orderId: string): Feed {
    let feed = this.feeds.get(orderId);
    if (feed) return feed;
    feed = new Feed(orderId);
    const created = feed;
    this.feeds.set(orderId, feed);
    const subject = qualify(this.options.namespace, `orders.evt.status.${orderId}`);
    feed.subscription = this.options.nats.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.options.logger.warn({ err, subject }, 'order status subscription failed');
          return;
        }
        let event: { sequence: number; status: string };
        try {
          event = validateMessage('orders.evt.status', msg.json());
        } catch (parseErr) {
          this.options.logger.warn({ err: parseErr, subject }, 'ignoring a malformed order status event');
          return;
        }
        this.onSequence(created, event.sequence, event.status);
      },
    });
    // The server has the subscription once a round trip after it has been answered. A flush
    // that fails (the NATS connection dropped meanwhile) must not refuse this subscriber, nor,
    // kept in `ready`, every later one of this order: the client subscribes again when it
    // reconnects, and resync() then reads the sequence of every feed, so nothing is missed.
    feed.ready = this.options.nats.flush().catch((err: unknown) => {
      this.options.logger.warn(
        { err, subject },
        'order status subscription not confirmed; resynced on reconnect',
      );
    });
    this.options.metrics.feeds.inc();
    return feed;
  }

  private onSequence(feed: Feed, sequence: number, status: string): void {
    feed.heard(sequence, status);
    for (const group of feed.groups.values()) {
      group.prune();
      for (const s of group.subscribers) if (s.started) this.advance(s, sequence);
    }
  }

  /** Sends the subscriber every sequence after its last one up to `target`, in order. */
  private advance(s: Subscriber, target: number): void {
    if (target > s.target) s.target = target;
    if (s.catchingUp || !s.started || s.last >= s.target || s.stream.isClosed) return;
    s.catchingUp = true;
    void (async () => {
      try {
        while (s.last < s.target && !s.stream.isClosed) {
          const next = s.last + 1;
          const event = await this.resultAt(s.group, next);
          if (s.stream.isClosed) break;
          if (!event.ok) {
            // The change can no longer be shown to this subscriber (order gone, rights lost).
            s.stream.push({ data: null, errors: event.errors });
            s.stream.end();
            break;
          }
          this.deliver(s, event);
        }
      } catch (err) {
        this.options.logger.error({ err }, 'subscription delivery failed');
        s.stream.push({
          data: null,
          errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
        });
        s.stream.end();
      } finally {
        s.catchingUp = false;
      }
    })();
  }

  private deliver(s: Subscriber, event: ShapedResult): void {
    if (event.sequence <= s.last) return;
    if (
      s.stream.backlog >= this.options.maxQueuedEvents ||
      s.sink.bufferedBytes() > this.options.maxBufferedBytes
    ) {
      this.options.metrics.dropped.inc({ transport: s.sink.transport, reason: 'slow' });
      s.sink.close('slow');
      void s.stream.return();
      return;
    }
    s.last = event.sequence;
    s.started = true;
    s.stream.push(event.result);
    this.options.metrics.delivered.inc({ transport: s.sink.transport });
    if (TERMINAL_STATUSES.has(event.status)) s.stream.end();
  }

  private resultAt(group: Group, sequence: number): Promise<Shaped> {
    let result = group.results.get(sequence);
    if (!result) {
      result = this.executeChange(group, sequence);
      group.results.set(sequence, result);
    }
    return result;
  }

  private async executeChange(group: Group, sequence: number): Promise<Shaped> {
    const { prepared } = group;
    let shaped: Shaped = { ok: false, errors: [] };
    for (let attempt = 1; attempt <= EXECUTION_ATTEMPTS; attempt += 1) {
      const identity = group.identity();
      if (!identity) return { ok: false, errors: [] };
      this.options.metrics.executions.inc();
      shaped = shape(
        await this.options.execute(
          prepared.changeQuery,
          { ...prepared.variables, [prepared.sequenceVariable]: sequence },
          identity,
          prepared.operationName,
        ),
        prepared,
      );
      // NOT_FOUND is an answer; anything else (a subgraph restarting) may pass.
      if (shaped.ok || shaped.errors.every((e) => e.extensions?.code === ErrorCode.NOT_FOUND)) break;
      if (attempt < EXECUTION_ATTEMPTS) await delay(RETRY_DELAY_MS * attempt);
    }
    return shaped;
  }

  private leave(feed: Feed, s: Subscriber): void {
    const { group } = s;
    if (!group.subscribers.delete(s)) return;
    feed.size -= 1;
    if (s.counted) this.options.metrics.live.dec({ transport: s.sink.transport });
    if (group.subscribers.size === 0) feed.groups.delete(group.key);
    else group.prune();
    if (feed.size === 0 && this.feeds.get(feed.orderId) === feed) {
      this.feeds.delete(feed.orderId);
      feed.subscription?.unsubscribe();
      this.options.metrics.feeds.dec();
    }
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
