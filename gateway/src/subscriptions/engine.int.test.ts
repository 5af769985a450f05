// The engine's resync after a NATS reconnect: a change whose status event the order's feed
// missed reaches its subscribers once the engine reads where the order stands. A real NATS
// connection; the supergraph is played by an executor that answers as the gateway would for
// orders of one customer, each at `current` sequences.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { Identity } from '../../../shared/auth/identity.ts';
import { createMetrics } from '../../../shared/observability/metrics.ts';
import { DEFAULT_NATS_URL } from '../../../scripts/lib/services.ts';
import { prepareOrderSubscription } from '../../../test/support/order-subscription.ts';
import { testId } from '../../../test/support/system.ts';
import { SubscriptionEngine, type Execute, type Sink } from './engine.ts';
import { createSubscriptionMetrics } from './metrics.ts';
import type { PreparedSubscription } from './operation.ts';

const STATUSES = ['', 'PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED', 'CONFIRMED', 'SHIPPED'];
const ORDERS = ['0b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a10', '1b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a11'];
const ada: Identity = { userId: 'ada', role: 'CUSTOMER', token: 'ada', expiresAt: 2e9 };
const sink: Sink = { transport: 'ws', connection: {}, bufferedBytes: () => 0, close: () => undefined };
const SUBSCRIPTION = `subscription Live($id: ID!) { orderStatusChanged(orderId: $id) { id status } }`;

let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: process.env.NATS_URL ?? DEFAULT_NATS_URL });
});

afterAll(async () => {
  await nc?.close();
});

/** An engine on this file's NATS connection and a namespace of its own. */
function newEngine(execute: Execute, firstStateMaxAgeMs: number): SubscriptionEngine {
  return new SubscriptionEngine({
    nats: nc,
    namespace: testId(),
    execute,
    logger: pino({ level: 'silent' }),
    metrics: createSubscriptionMetrics(createMetrics(`engine-int-test-${testId()}`)),
    maxQueuedEvents: 10,
    maxBufferedBytes: 1_000_000,
    firstStateMaxAgeMs,
    resumeBatchSize: 16,
  });
}

/** The gateway as these orders' customer sees it; `positionQueries` counts reads of where they stand. */
function supergraph(prepared: PreparedSubscription) {
  const current = new Map(ORDERS.map((id) => [id, 4]));
  const positionQueries: Readonly<Record<string, unknown>>[] = [];
  const order = (id: string, sequence: number) => ({
    id,
    status: STATUSES[sequence],
    [prepared.sequenceKey]: sequence,
    [prepared.statusKey]: STATUSES[sequence],
  });
  const execute: Execute = async (query, variables) => {
    const id = String(variables.id);
    if (query === prepared.currentQuery)
      return { data: { [prepared.responseKey]: order(id, current.get(id)!) } };
    if (query === prepared.changeQuery) {
      return { data: { [prepared.responseKey]: order(id, Number(variables[prepared.sequenceVariable])) } };
    }
    // Where orders stand: `order(id: $id)`, or several as `oN: order(id: $__idN)`.
    positionQueries.push(variables);
    const data: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(variables)) {
      const sequence = current.get(String(value))!;
      data[name === 'id' ? 'order' : `o${name.slice('__id'.length)}`] = {
        statusSequence: sequence,
        status: STATUSES[sequence],
      };
    }
    return { data };
  };
  return { execute, current, positionQueries };
}

describe('SubscriptionEngine.resync', () => {
  it("sends a change the feed missed, reading where one customer's orders stand in one query", async () => {
    const prepared = ORDERS.map((id) => prepareOrderSubscription(SUBSCRIPTION, { id }));
    const { execute, current, positionQueries } = supergraph(prepared[0]!);
    const engine = newEngine(execute, 0);
    const streams = await Promise.all(prepared.map(async (p) => (await engine.open(p, ada, sink)).stream));
    try {
      for (const stream of streams) {
        expect((await stream.next()).value).toMatchObject({
          data: { orderStatusChanged: { status: 'CONFIRMED' } },
        });
      }
      // Shipped while NATS was away: no event reached the feeds.
      for (const id of ORDERS) current.set(id, 5);
      await engine.resync();
      for (const stream of streams) {
        expect((await stream.next()).value).toMatchObject({
          data: { orderStatusChanged: { status: 'SHIPPED' } },
        });
      }
      expect(positionQueries).toEqual([{ __id0: ORDERS[0], __id1: ORDERS[1] }]);
    } finally {
      engine.close();
      await Promise.all(streams.map((s) => s.return()));
    }
  });
});

describe('SubscriptionEngine first states', () => {
  it("hands a group's complete current state on to newcomers, and reads again after a partial one", async () => {
    const prepared = prepareOrderSubscription(SUBSCRIPTION, { id: ORDERS[0] });
    const reads: string[] = [];
    let failing = true;
    const execute: Execute = async (query) => {
      if (query !== prepared.currentQuery) throw new Error(`unexpected query ${query}`);
      reads.push(failing ? 'partial' : 'complete');
      const order = {
        id: ORDERS[0],
        status: 'CONFIRMED',
        [prepared.sequenceKey]: 4,
        [prepared.statusKey]: 'CONFIRMED',
      };
      return failing
        ? {
            data: { [prepared.responseKey]: order },
            errors: [{ message: 'payments is unavailable', extensions: { code: 'SUBGRAPH_UNAVAILABLE' } }],
          }
        : { data: { [prepared.responseKey]: order } };
    };
    const engine = newEngine(execute, 60_000);
    const streams: Awaited<ReturnType<SubscriptionEngine['open']>>['stream'][] = [];
    const first = async () => {
      const { stream } = await engine.open(prepared, ada, sink);
      streams.push(stream);
      return (await stream.next()).value;
    };
    try {
      expect(await first()).toMatchObject({ errors: [{ extensions: { code: 'SUBGRAPH_UNAVAILABLE' } }] });
      failing = false;
      // The partial state was not kept: this newcomer reads, and gets the whole state.
      expect(await first()).toEqual({ data: { orderStatusChanged: { id: ORDERS[0], status: 'CONFIRMED' } } });
      // The complete one is: the next newcomer starts from it without a read.
      expect(await first()).toEqual({ data: { orderStatusChanged: { id: ORDERS[0], status: 'CONFIRMED' } } });
      expect(reads).toEqual(['partial', 'complete']);
    } finally {
      engine.close();
      await Promise.all(streams.map((s) => s.return()));
    }
  });
});
