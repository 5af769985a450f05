// The load generator of bench:subscriptions, in a worker thread so that thousands of sockets do
// not slow the bench's own bookkeeping (and its event loop never delays a reading of the
// gateway). It speaks graphql-transport-ws directly over `ws` rather than through the graphql-ws
// client: the protocol's four messages are all a subscriber needs here, and a lighter client
// leaves more of a small machine to the gateway being measured.
//
// Messages from the bench (each answered once, with the same `id`):
//   { kind: 'connect', url, tokens, concurrency }    bare authenticated connections: open one per
//                                                    token (connection_init, connection_ack) with
//                                                    at most `concurrency` opening at once
//   { kind: 'subscribe', url, subscriptions, concurrency }  the same, then one subscription each,
//                                                    up to its first event (the current state);
//                                                    one with `afterSequence` resumes after it and
//                                                    is owed no event: it counts as open once sent
//                                                    (the bench asks the gateway how many are), and
//                                                    each of its events is a change
//   { kind: 'completed', orderIds }                  resolves when every subscription of those
//                                                    orders has completed; their event latencies
//   { kind: 'close' }                                closes every socket
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface Subscription {
  readonly token: string;
  readonly orderId: string;
  /** Declares `$id` and, to resume, `$after` for orderStatusChanged's afterSequence. */
  readonly query: string;
  readonly afterSequence?: number;
}

export type Request =
  | { id: number; kind: 'connect'; url: string; tokens: string[]; concurrency: number }
  | { id: number; kind: 'subscribe'; url: string; subscriptions: Subscription[]; concurrency: number }
  | { id: number; kind: 'completed'; orderIds: string[] }
  | { id: number; kind: 'close' };

export interface Opened {
  /** ms from starting the socket to the ack (connect) or to the first event (subscribe), each. */
  readonly latencies: number[];
  readonly wallMs: number;
  /** Sockets that could not be opened in ATTEMPTS tries. */
  readonly failures: string[];
  /** Attempts refused and tried again, and the first refusal's reason. */
  readonly retried: number;
  readonly firstRefusal: string | undefined;
}

export interface Completed {
  /** ms from each status change (the event's updatedAt) to its arrival here. */
  readonly latencies: number[];
}

const sockets = new Set<WebSocket>();
/** Subscriptions by order: resolved when the subscription completes. */
const completions = new Map<string, Promise<void>[]>();
const eventLatencies = new Map<string, number[]>();

function open(url: string, token: string, subscription?: Subscription): Promise<number> {
  const started = performance.now();
  return new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    sockets.add(socket);
    let first = true;
    let complete: () => void = () => undefined;
    /** From its start (first event, or resume): the subscription's completion is waited for. */
    const startWaiting = (orderId: string) => {
      first = false;
      const done = new Promise<void>((r) => (complete = r));
      const list = completions.get(orderId) ?? [];
      list.push(done);
      completions.set(orderId, list);
    };
    socket.once('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') {
        if (!subscription) resolve(performance.now() - started);
        else {
          const { afterSequence } = subscription;
          socket.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: {
                query: subscription.query,
                variables: {
                  id: subscription.orderId,
                  ...(afterSequence !== undefined && { after: afterSequence }),
                },
              },
            }),
          );
          if (afterSequence !== undefined) {
            // Every event of a resumed subscription is a change: none is a current state.
            startWaiting(subscription.orderId);
            resolve(performance.now() - started);
          }
        }
      } else if (message.type === 'next') {
        const order = (message.payload as { data?: { orderStatusChanged?: { updatedAt: string } } }).data
          ?.orderStatusChanged;
        if (first) {
          // Only a subscription that started is waited for: its completion is what counts.
          startWaiting(subscription!.orderId);
          resolve(performance.now() - started);
        } else if (order) {
          const list = eventLatencies.get(subscription!.orderId) ?? [];
          list.push(Date.now() - Date.parse(order.updatedAt));
          eventLatencies.set(subscription!.orderId, list);
        }
      } else if (message.type === 'complete') {
        complete();
      } else if (message.type === 'error') {
        socket.close(1000);
        reject(new Error(`subscription refused: ${JSON.stringify(message.payload)}`));
      }
    });
    socket.on('error', reject);
    socket.once('close', (code, reason) => {
      sockets.delete(socket);
      reject(new Error(`closed ${code} ${String(reason)}`));
    });
  });
}

/** Runs `each` over `items` with at most `concurrency` at once. */
async function pool<T>(items: readonly T[], concurrency: number, each: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Attempts per socket: a refused one is tried again after RETRY_MS, as a client reconnects. */
const ATTEMPTS = 5;
const RETRY_MS = 1000;

async function opening<T>(
  items: readonly T[],
  concurrency: number,
  each: (item: T) => Promise<number>,
): Promise<Opened> {
  const latencies: number[] = [];
  const failures: string[] = [];
  const refusals: string[] = [];
  const started = performance.now();
  await pool(items, concurrency, async (item) => {
    const first = performance.now();
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      try {
        await each(item);
        // From the first attempt: a retried open took all that time.
        latencies.push(performance.now() - first);
        return;
      } catch (err) {
        if (attempt === ATTEMPTS) failures.push(String(err));
        else {
          refusals.push(String(err));
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    }
  });
  return {
    latencies,
    wallMs: performance.now() - started,
    failures,
    retried: refusals.length,
    firstRefusal: refusals[0],
  };
}

async function handle(request: Request): Promise<unknown> {
  switch (request.kind) {
    case 'connect':
      return opening(request.tokens, request.concurrency, (token) => open(request.url, token));
    case 'subscribe':
      return opening(request.subscriptions, request.concurrency, (s) => open(request.url, s.token, s));
    case 'completed': {
      await Promise.all(request.orderIds.flatMap((id) => completions.get(id) ?? []));
      return {
        latencies: request.orderIds.flatMap((id) => eventLatencies.get(id) ?? []),
      } satisfies Completed;
    }
    case 'close': {
      const closed = [...sockets].map(
        (s) =>
          new Promise<void>((resolve) =>
            s.readyState === WebSocket.CLOSED ? resolve() : s.once('close', () => resolve()),
          ),
      );
      for (const s of sockets) s.close(1000);
      await Promise.all(closed);
      completions.clear();
      eventLatencies.clear();
      return {};
    }
  }
}

parentPort?.on('message', (request: Request) => {
  handle(request).then(
    (result) => parentPort!.postMessage({ id: request.id, result }),
    (err: unknown) => parentPort!.postMessage({ id: request.id, error: String(err) }),
  );
});
