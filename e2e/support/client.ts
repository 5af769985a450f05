// What an end-to-end test does as a client of the supergraph: real HTTP to the real gateway,
// plus a tap on the order status events (the same NATS subjects the gateway listens to), so a
// test awaits the saga's events instead of sleeping.
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  graphqlRequest,
  natsAdminOptions,
  type GraphQLResponse,
  type TestSystem,
} from '../../test/support/system.ts';
import { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD } from '../../test/support/subgraph.ts';

export { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD };

/** Tests read responses loosely and let assertions do the checking. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = Record<string, any>;

export class Client {
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  request<T = Loose>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<T>> {
    return graphqlRequest<T>(this.url, query, variables, token);
  }

  /** The data, or a thrown error carrying the GraphQL errors. */
  async data<T = Loose>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
    const response = await this.request<T>(query, variables, token);
    if (response.errors?.length || !response.data)
      throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
    return response.data;
  }

  /** The `extensions.code` of the first error. */
  async errorCode(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<string | undefined> {
    const response = await this.request(query, variables, token);
    return response.errors?.[0]?.extensions?.code as string | undefined;
  }

  async login(email: string, password: string): Promise<string> {
    const data = await this.data<{ login: { token: string } }>(
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: email, p: password },
    );
    return data.login.token;
  }

  adminToken(): Promise<string> {
    return this.login(TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD);
  }

  async registerCustomer(name = 'Customer'): Promise<{ token: string; id: string; email: string }> {
    const email = `c-${randomBytes(6).toString('hex')}@example.com`;
    const data = await this.data<{ register: { token: string; user: { id: string } } }>(
      'mutation($i: RegisterInput!) { register(input: $i) { token user { id } } }',
      { i: { email, password: 'customer-password', name } },
    );
    return { token: data.register.token, id: data.register.user.id, email };
  }

  async createProduct(
    adminToken: string,
    input: { priceCents: number; name?: string; category?: string; stock?: number },
  ) {
    const sku = `SKU-${randomBytes(4).toString('hex').toUpperCase()}`;
    const data = await this.data<{ createProduct: { id: string } }>(
      'mutation($i: ProductInput!) { createProduct(input: $i) { id } }',
      {
        i: {
          sku,
          name: input.name ?? `Product ${sku}`,
          category: input.category,
          priceCents: input.priceCents,
        },
      },
      adminToken,
    );
    const id = data.createProduct.id;
    if (input.stock !== undefined) await this.setStock(adminToken, id, input.stock);
    return { id, sku };
  }

  async setStock(adminToken: string, productId: string, available: number, warehouse = 'main') {
    const data = await this.data<{ setStock: { available: number; reserved: number } }>(
      'mutation($p: ID!, $w: String, $a: Int!) { setStock(productId: $p, warehouse: $w, available: $a) { available reserved } }',
      { p: productId, w: warehouse, a: available },
      adminToken,
    );
    return data.setStock;
  }

  async stock(productId: string): Promise<{ available: number; reserved: number }> {
    const data = await this.data<{ product: { stock: { available: number; reserved: number } } }>(
      'query($id: ID!) { product(id: $id) { stock { available reserved } } }',
      { id: productId },
    );
    return data.product.stock;
  }

  placeOrder(
    token: string,
    items: { productId: string; quantity: number }[],
    paymentMethod = 'pm_card_visa',
    idempotencyKey?: string,
  ): Promise<
    GraphQLResponse<{ placeOrder: { id: string; status: string; total: { amountCents: number } } }>
  > {
    return this.request(
      'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status total { amountCents currency } } }',
      { i: { items, paymentMethod, idempotencyKey } },
      token,
    );
  }

  async order(token: string, id: string) {
    const data = await this.data<{ order: OrderView | null }>(
      `query($id: ID!) { order(id: $id) {
          id status failureReason total { amountCents currency }
          history { status reason }
          items { quantity unitPrice { amountCents } product { id name } }
          payment { status amount { amountCents currency } }
        } }`,
      { id },
      token,
    );
    return data.order;
  }
}

export interface OrderView {
  id: string;
  status: string;
  failureReason: string | null;
  total: { amountCents: number; currency: string };
  history: { status: string; reason: string | null }[];
  items: { quantity: number; unitPrice: { amountCents: number }; product: { id: string; name: string } }[];
  payment: { status: string; amount: { amountCents: number; currency: string } } | null;
}

export interface StatusEvent {
  orderId: string;
  status: string;
  sequence: number;
  reason: string | null;
}

/**
 * Listens to every order status event of one test system. `settled(id)` resolves once the order
 * reaches one of the given statuses (CONFIRMED or CANCELLED by default), whenever that happened.
 */
export class OrderEvents {
  private readonly events = new Map<string, StatusEvent[]>();
  private readonly waiters = new Set<{ check: () => boolean }>();
  private readonly nc: NatsConnection;
  private readonly sub: Subscription;
  private constructor(nc: NatsConnection, sub: Subscription) {
    this.nc = nc;
    this.sub = sub;
  }

  static async listen(system: TestSystem): Promise<OrderEvents> {
    const nc = await connect(natsAdminOptions(system));
    const sub = nc.subscribe(`${system.id}.orders.evt.status.>`);
    const watcher = new OrderEvents(nc, sub);
    void (async () => {
      for await (const msg of sub) watcher.record(msg.json<StatusEvent>());
    })();
    await nc.flush();
    return watcher;
  }

  private record(event: StatusEvent): void {
    const list = this.events.get(event.orderId) ?? [];
    list.push(event);
    this.events.set(event.orderId, list);
    for (const waiter of [...this.waiters]) waiter.check();
  }

  of(orderId: string): StatusEvent[] {
    return [...(this.events.get(orderId) ?? [])].sort((a, b) => a.sequence - b.sequence);
  }

  /** Resolves with the event that brought the order into one of `statuses`. */
  until(
    orderId: string,
    statuses: readonly string[] = ['CONFIRMED', 'CANCELLED'],
    timeoutMs = 60_000,
  ): Promise<StatusEvent> {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          const hit = this.of(orderId).find((e) => statuses.includes(e.status));
          if (!hit) return false;
          this.waiters.delete(waiter);
          clearTimeout(timer);
          resolve(hit);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `order ${orderId} did not reach ${statuses.join('/')}; saw ${JSON.stringify(this.of(orderId))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.close();
  }
}
