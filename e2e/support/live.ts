// Live subscriptions as a real client opens them: graphql-ws over `ws`, and graphql-sse over
// fetch. A LiveSubscription records every result and how the stream ended, so a test awaits
// events instead of sleeping.
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { Waiters } from '../../test/support/waiters.ts';
import type { Loose } from './client.ts';

export const ORDER_SELECTION = `
  id status statusSequence failureReason updatedAt
  history { status }
  items { quantity product { id name stock { available } } }
  payment { status }
  customer { id email }`;

export const ORDER_SUBSCRIPTION = `subscription Live($id: ID!) {
  orderStatusChanged(orderId: $id) { ${ORDER_SELECTION} }
}`;

export type Ending = { kind: 'complete' } | { kind: 'error'; error: unknown };

export class LiveSubscription {
  readonly results: Loose[] = [];
  ending: Ending | undefined;
  private readonly waiters = new Waiters();
  private readonly dispose: () => void;

  constructor(
    subscribe: (sink: {
      next: (v: Loose) => void;
      error: (e: unknown) => void;
      complete: () => void;
    }) => () => void,
  ) {
    this.dispose = subscribe({
      next: (value) => {
        this.results.push(value);
        this.wake();
      },
      error: (error) => {
        this.ending ??= { kind: 'error', error };
        this.wake();
      },
      complete: () => {
        this.ending ??= { kind: 'complete' };
        this.wake();
      },
    });
  }

  /** The `orderStatusChanged` payload of every result so far. */
  get orders(): Loose[] {
    return this.results.map((r) => r.data?.orderStatusChanged).filter(Boolean);
  }

  get statuses(): string[] {
    return this.orders.map((o) => o.status);
  }

  /** Resolves once `check` holds (checked on every result and on the end). */
  until(check: (live: LiveSubscription) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    return this.waiters.until(
      () => check(this),
      () =>
        new Error(
          `${what} did not happen; results ${JSON.stringify(this.results)}, ending ${describe(this.ending)}`,
        ),
      timeoutMs,
    );
  }

  untilStatus(status: string, timeoutMs?: number): Promise<void> {
    return this.until((l) => l.statuses.includes(status), `status ${status}`, timeoutMs);
  }

  ended(timeoutMs?: number): Promise<Ending> {
    return this.until((l) => l.ending !== undefined, 'the end of the stream', timeoutMs).then(
      () => this.ending!,
    );
  }

  close(): void {
    this.dispose();
  }

  private wake(): void {
    this.waiters.wake();
  }
}

function describe(ending: Ending | undefined): string {
  if (!ending) return 'none';
  if (ending.kind === 'complete') return 'complete';
  const e = ending.error as { code?: number; reason?: string };
  return `error ${e && typeof e === 'object' && 'code' in e ? `${e.code} ${e.reason}` : JSON.stringify(ending.error)}`;
}

/** A graphql-ws client on the gateway; `token` goes in connectionParams.authorization. */
export function wsClient(wsUrl: string, token?: string): WsClient {
  return createWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export function subscribeWs(
  client: WsClient,
  variables: Record<string, unknown>,
  query = ORDER_SUBSCRIPTION,
): LiveSubscription {
  return new LiveSubscription((sink) => client.subscribe({ query, variables }, sink));
}

/** The same subscription over Server-Sent Events (`/graphql/stream`). */
export function subscribeSse(
  streamUrl: string,
  token: string | undefined,
  variables: Record<string, unknown>,
  query = ORDER_SUBSCRIPTION,
): LiveSubscription {
  const client = createSseClient({
    url: streamUrl,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  return new LiveSubscription((sink) => {
    const stop = client.subscribe({ query, variables }, sink);
    return () => {
      stop();
      client.dispose();
    };
  });
}

/** ORDER_SUBSCRIPTION with `afterSequence` taken from `$after` (absent or null: none). */
export const RESUMABLE_SUBSCRIPTION = `subscription Live($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, afterSequence: $after) { ${ORDER_SELECTION} }
}`;

/** A graphql-ws client that resumes, as the README shows, and whose socket a test can cut. */
export interface ResumingSubscription {
  readonly live: LiveSubscription;
  /** Drops the connection abruptly (no close frame), as a network failure would. */
  cut(): void;
  /** Connections made so far (the first, then one per reconnect). */
  connections(): number;
  dispose(): Promise<void>;
}

/**
 * Subscribes to one order and, whenever the connection drops, reconnects (after `reconnect()`
 * resolves, so a test decides what happens meanwhile) and re-subscribes with the
 * `statusSequence` of the last event it received as `afterSequence`. graphql-ws re-sends the
 * same payload object after a reconnect, serialised afresh: the getter makes it carry the
 * sequence seen last.
 */
export function resumingWs(
  wsUrl: string,
  token: string,
  orderId: string,
  options: { afterSequence?: number; reconnect: () => Promise<void> },
): ResumingSubscription {
  const sockets: WebSocket[] = [];
  class TrackedWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
    }
  }
  const client = createWsClient({
    url: wsUrl,
    webSocketImpl: TrackedWebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 5,
    retryWait: options.reconnect,
    lazy: true,
  });
  let lastSequence = options.afterSequence;
  const payload = {
    query: RESUMABLE_SUBSCRIPTION,
    variables: {
      id: orderId,
      get after() {
        return lastSequence;
      },
    },
  };
  const live = new LiveSubscription((sink) =>
    client.subscribe(payload, {
      next: (value: Loose) => {
        const sequence = value.data?.orderStatusChanged?.statusSequence;
        if (typeof sequence === 'number') lastSequence = sequence;
        sink.next(value);
      },
      error: sink.error,
      complete: sink.complete,
    }),
  );
  return {
    live,
    cut: () => sockets.at(-1)?.terminate(),
    connections: () => sockets.length,
    dispose: async () => {
      live.close();
      await client.dispose();
    },
  };
}
