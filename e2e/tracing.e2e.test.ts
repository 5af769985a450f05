// One order's trace, end to end: the processes export spans over OTLP/HTTP (JSON) to a receiver
// this test runs; a client-sent traceparent must be continued by the gateway, the subgraphs it
// calls, and every NATS hop of the saga (outbox -> consumer -> reply -> next command).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents } from './support/client.ts';

/** A span as the receiver keeps it. */
interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
}

const SERVER = 2;
const CONSUMER = 5;

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
}

/** A minimal OTLP/HTTP JSON traces receiver on a free loopback port. */
class Receiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          if (req.url !== '/v1/traces' || !req.headers['content-type']?.includes('application/json')) {
            res.writeHead(415).end();
            return;
          }
          const raw = Buffer.concat(chunks);
          const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          this.accept(JSON.parse(body.toString('utf8')) as OtlpRequest);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private accept(request: OtlpRequest): void {
    for (const resourceSpans of request.resourceSpans ?? []) {
      const service = String(attributes(resourceSpans.resource?.attributes)['service.name']);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind,
            attributes: attributes(span.attributes),
          });
        }
      }
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves with the spans of a trace once `done` holds for them. */
  until(
    traceId: string,
    done: (spans: ReceivedSpan[]) => boolean,
    timeoutMs = 20_000,
  ): Promise<ReceivedSpan[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const spans = this.spans.filter((s) => s.traceId === traceId);
        if (!done(spans)) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(spans);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.spans.filter((s) => s.traceId === traceId).map((s) => `${s.service}: ${s.name}`);
        reject(new Error(`the trace is incomplete after ${timeoutMs} ms; saw ${JSON.stringify(seen)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let receiver: Receiver;
let system: TestSystem;
let client: Client;
let events: OrderEvents;

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  system = await startTestSystem({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
});

afterAll(async () => {
  await events?.close();
  await system?.dispose();
  await receiver?.close();
});

/** The consumer span of `subject` in `service`. */
function consumed(spans: ReceivedSpan[], service: string, subject: string): ReceivedSpan | undefined {
  return spans.find(
    (s) =>
      s.service === service && s.kind === CONSUMER && s.attributes['messaging.destination.name'] === subject,
  );
}

describe('distributed tracing', () => {
  it('follows an order from the client through the gateway, the subgraphs and every saga message', async () => {
    const admin = await client.adminToken();
    const product = await client.createProduct(admin, { priceCents: 900, stock: 5 });
    const customer = await client.registerCustomer();

    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const response = await fetch(client.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${customer.token}`,
        traceparent: `00-${traceId}-${clientSpanId}-01`,
      },
      body: JSON.stringify({
        query: 'mutation PlaceOrder($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }',
        variables: { i: { items: [{ productId: product.id, quantity: 1 }], paymentMethod: 'pm_card_visa' } },
      }),
    });
    const body = (await response.json()) as { data?: { placeOrder: { id: string } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const orderId = body.data!.placeOrder.id;
    expect((await events.until(orderId)).status).toBe('CONFIRMED');

    const spans = await receiver.until(
      traceId,
      (all) =>
        all.some((s) => s.service === 'gateway' && s.kind === SERVER) &&
        all.some((s) => s.service === 'orders' && s.kind === SERVER) &&
        [
          ['inventory', 'inventory.cmd.reserve'],
          ['orders', 'inventory.evt.reserved'],
          ['payments', 'payments.cmd.authorize'],
          ['orders', 'payments.evt.authorized'],
          ['inventory', 'inventory.cmd.commit'],
          ['payments', 'payments.cmd.capture'],
        ].every(([service, subject]) => consumed(all, service!, subject!)),
    );
    const ids = (service: string) => new Set(spans.filter((s) => s.service === service).map((s) => s.spanId));

    // The gateway continues the client's trace, and the subgraph continues the gateway's.
    const gatewayServer = spans.find((s) => s.service === 'gateway' && s.kind === SERVER)!;
    expect(gatewayServer).toMatchObject({ name: 'POST /graphql', parentSpanId: clientSpanId });
    expect(gatewayServer.attributes).toMatchObject({
      'graphql.operation.name': 'PlaceOrder',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
    });
    const ordersServer = spans.find((s) => s.service === 'orders' && s.kind === SERVER)!;
    expect(ids('gateway').has(ordersServer.parentSpanId)).toBe(true);
    // The gateway names the operations it sends after the client's.
    expect(ordersServer.attributes['graphql.operation.name']).toMatch(/^PlaceOrder__orders__/);

    // Each message continues the span that enqueued it: the command the request sent, the
    // reply the handler of that command sent, the next command the handler of the reply sent.
    const reserve = consumed(spans, 'inventory', 'inventory.cmd.reserve')!;
    expect(reserve).toMatchObject({ name: 'process inventory.cmd.reserve' });
    expect(reserve.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.message.id': expect.any(String),
    });
    expect(ids('orders').has(reserve.parentSpanId)).toBe(true);
    const reserved = consumed(spans, 'orders', 'inventory.evt.reserved')!;
    expect(reserved.parentSpanId).toBe(reserve.spanId);
    const authorize = consumed(spans, 'payments', 'payments.cmd.authorize')!;
    expect(authorize).toMatchObject({ name: 'process payments.cmd.authorize' });
    expect(authorize.parentSpanId).toBe(reserved.spanId);
    const authorized = consumed(spans, 'orders', 'payments.evt.authorized')!;
    expect(authorized.parentSpanId).toBe(authorize.spanId);
    expect(consumed(spans, 'inventory', 'inventory.cmd.commit')!.parentSpanId).toBe(authorized.spanId);
    expect(consumed(spans, 'payments', 'payments.cmd.capture')!.parentSpanId).toBe(authorized.spanId);
  });
});
