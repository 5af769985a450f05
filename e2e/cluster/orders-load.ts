// The cluster scenario's clients: workers that place orders through the gateways in turn, each
// order then watched over graphql-ws on the other gateway from its first status on
// (`afterSequence: 0`). A watcher whose connection drops (its gateway killed) reconnects to the
// next gateway and resumes after the last `statusSequence` it saw. A placement that fails for
// want of a gateway or a subgraph is sent again with the same idempotency key, to the other
// gateway, so it never makes a second order.
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Client, type Loose } from '../support/client.ts';
import { RESUMABLE_SUBSCRIPTION } from '../support/live.ts';

export interface SeenStatus {
  readonly sequence: number;
  readonly status: string;
  /** performance.now() when it arrived. */
  readonly at: number;
}

/** One order's live status over graphql-ws, resuming on another gateway when its own goes. */
export class OrderWatch {
  readonly orderId: string;
  readonly seen: SeenStatus[] = [];
  /** WebSocket connections made (1, plus one per reconnect). */
  connections = 0;
  failure: string | undefined;
  readonly finished: Promise<void>;
  private readonly dispose: () => Promise<void>;

  constructor(gateways: readonly string[], first: number, token: string, orderId: string, timeoutMs: number) {
    this.orderId = orderId;
    let after = 0;
    const client = createClient({
      // Each (re)connection goes to the next gateway: after a drop, to another one.
      url: () => gateways[(first + this.connections++) % gateways.length]!.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: true,
      retryAttempts: 20,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 200)),
      shouldRetry: () => true,
    });
    this.dispose = () => client.dispose() as Promise<void>;
    const payload = {
      query: RESUMABLE_SUBSCRIPTION,
      variables: {
        id: orderId,
        // Read at every (re)subscription: the last sequence seen.
        get after() {
          return after;
        },
      },
    };
    this.finished = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.failure ??= `no CONFIRMED or CANCELLED within ${timeoutMs} ms`;
        stop();
      }, timeoutMs);
      let unsubscribe = () => {};
      const stop = () => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      unsubscribe = client.subscribe<Loose>(payload, {
        next: (result) => {
          const order = result.data?.orderStatusChanged as Loose | undefined;
          if (!order) {
            this.failure ??= `error result: ${JSON.stringify(result.errors)}`;
            return;
          }
          after = order.statusSequence as number;
          this.seen.push({ sequence: after, status: order.status as string, at: performance.now() });
          if (order.status === 'CONFIRMED' || order.status === 'CANCELLED') stop();
        },
        error: (error) => {
          this.failure ??= `subscription failed: ${describe(error)}`;
          stop();
        },
        complete: () => stop(),
      });
    });
  }

  get outcome(): string | undefined {
    const last = this.seen.at(-1)?.status;
    return last === 'CONFIRMED' || last === 'CANCELLED' ? last : undefined;
  }

  close(): Promise<void> {
    return this.dispose();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const e = error as { code?: number; reason?: string };
  return e && typeof e === 'object' && 'code' in e ? `close ${e.code} ${e.reason}` : JSON.stringify(error);
}

export interface LoadOptions {
  readonly gateways: readonly string[];
  readonly customers: readonly { token: string }[];
  /** What each order buys: one item of one of these, drawn in turn. */
  readonly products: readonly string[];
  readonly workers: number;
  readonly maxOrders: number;
  /** Every this-many-th order pays with a card that is declined (a compensated cancellation). */
  readonly declineEvery: number;
  readonly orderTimeoutMs: number;
}

export interface LoadResult {
  readonly watches: OrderWatch[];
  /** Placements sent again (same idempotency key) after a gateway or subgraph failed them, by why. */
  readonly placementRetries: Readonly<Record<string, number>>;
  /** Placements given up on (every retry failed), with the last reason. */
  readonly placementFailures: string[];
}

/** Places orders with `workers` in parallel until `stop` resolves or `maxOrders` are placed. */
export async function runOrderLoad(options: LoadOptions, stop: Promise<void>): Promise<LoadResult> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  const watches: OrderWatch[] = [];
  const placementFailures: string[] = [];
  const placementRetries: Record<string, number> = {};
  let placed = 0;

  const placeOne = async (n: number): Promise<void> => {
    const customer = options.customers[n % options.customers.length]!;
    const productId = options.products[n % options.products.length]!;
    const card =
      n % options.declineEvery === options.declineEvery - 1 ? 'pm_card_chargeDeclined' : 'pm_card_visa';
    const key = randomUUID();
    let reason = '';
    for (let attempt = 0; attempt < 10; attempt++) {
      const gateway = (n + attempt) % options.gateways.length;
      if (attempt > 0) {
        placementRetries[reason] = (placementRetries[reason] ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
      let orderId: string | undefined;
      try {
        const response = await new Client(options.gateways[gateway]!).placeOrder(
          customer.token,
          [{ productId, quantity: 1 }],
          card,
          key,
        );
        orderId = response.data?.placeOrder?.id;
        if (!orderId) reason = JSON.stringify(response.errors?.map((e) => e.extensions?.code ?? e.message));
      } catch (error) {
        const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
        reason = `${error instanceof Error ? error.message : String(error)}${cause?.code ? ` (${cause.code})` : ''}`;
      }
      if (orderId) {
        // Watched on the other gateway than the one that took the order.
        const watch = new OrderWatch(
          options.gateways,
          gateway + 1,
          customer.token,
          orderId,
          options.orderTimeoutMs,
        );
        watches.push(watch);
        await watch.finished;
        await watch.close();
        return;
      }
    }
    placementFailures.push(reason);
  };

  await Promise.all(
    Array.from({ length: options.workers }, async () => {
      while (!stopped && placed < options.maxOrders) await placeOne(placed++);
    }),
  );
  return { watches, placementRetries, placementFailures };
}
