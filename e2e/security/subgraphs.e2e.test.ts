// Attacks on the subgraphs themselves, from inside the network, past the gateway: a direct
// request without a valid service token is refused (only health and metrics stay open), and so
// is `_service`; a subgraph listens on loopback only. With a valid service token and a customer's
// own token, `_entities` still gives away nothing of another customer, and a customer's
// administrator mutations are FORBIDDEN, directly and through the gateway alike.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateServiceSecret } from '../../shared/auth/service-identity.ts';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';
import { Client, OrderEvents } from '../support/client.ts';
import { SUBGRAPH_NAMES, directRequest } from '../support/attack-tokens.ts';

let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;

beforeAll(async () => {
  system = await startTestSystem({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  client = new Client(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
});

afterAll(async () => {
  await events?.close();
  await system?.dispose();
});

const codeOf = (body: { errors?: { extensions?: { code?: string } }[] }) =>
  body.errors?.[0]?.extensions?.code;

describe('direct requests to a subgraph', () => {
  it('are refused with HTTP 401 UNAUTHENTICATED without a valid service token', async () => {
    const customer = await client.registerCustomer();
    const attempts = {
      none: {},
      userTokenOnly: { token: customer.token },
      otherSecret: { asService: 'gateway', secret: generateServiceSecret() },
      otherAudience: { asService: 'gateway', audience: 'another-service' },
    };
    for (const subgraph of SUBGRAPH_NAMES) {
      for (const [name, options] of Object.entries(attempts)) {
        const { status, body } = await directRequest(system, subgraph, '{ __typename }', {}, options);
        expect({ subgraph, name, status, code: codeOf(body), data: body.data ?? null }).toEqual({
          subgraph,
          name,
          status: 401,
          code: 'UNAUTHENTICATED',
          data: null,
        });
      }
    }
  });

  it('answer _service { sdl } only to services', async () => {
    for (const subgraph of SUBGRAPH_NAMES) {
      const refused = await directRequest(system, subgraph, '{ _service { sdl } }');
      expect({ subgraph, status: refused.status, code: codeOf(refused.body) }).toEqual({
        subgraph,
        status: 401,
        code: 'UNAUTHENTICATED',
      });
      expect(JSON.stringify(refused.body)).not.toContain('@key');
      const served = await directRequest<{ _service: { sdl: string } }>(
        system,
        subgraph,
        '{ _service { sdl } }',
        {},
        { asService: 'gateway' },
      );
      // Every subgraph's schema links federation (not every one has a Query type of its own).
      expect(served.body.data?._service.sdl).toContain('@link(url: "https://specs.apollo.dev/federation');
    }
  });

  it('leave health and metrics open', async () => {
    for (const subgraph of SUBGRAPH_NAMES) {
      const base = system.process(subgraph).baseUrl;
      for (const path of ['/health/live', '/health/ready', '/metrics']) {
        const response = await fetch(`${base}${path}`);
        await response.arrayBuffer();
        expect({ subgraph, path, status: response.status }).toEqual({ subgraph, path, status: 200 });
      }
    }
  });

  it('reach a subgraph only on loopback: it does not listen on every interface', async () => {
    // 127.0.0.2 is loopback too, but a server bound to 127.0.0.1 alone does not answer on it;
    // one bound to 0.0.0.0 (every interface) does.
    for (const subgraph of SUBGRAPH_NAMES) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: '127.0.0.2', port: system.process(subgraph).port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect({ subgraph, outcome }).toEqual({ subgraph, outcome: 'ECONNREFUSED' });
    }
  });
});

describe('_entities fishing with a valid service token and a customer token', () => {
  it('reveals nothing of another customer’s order, payment or account', async () => {
    const product = await client.createProduct(admin, { priceCents: 4321, stock: 5 });
    const owner = await client.registerCustomer('Owner Secretname');
    const thief = await client.registerCustomer();
    const placed = await client.placeOrder(owner.token, [{ productId: product.id, quantity: 1 }]);
    const orderId = placed.data!.placeOrder.id;
    await events.until(orderId);
    const paymentId = (
      await client.data('query($id: ID!) { order(id: $id) { payment { id } } }', { id: orderId }, owner.token)
    ).order.payment.id as string;

    const fishing = [
      {
        subgraph: 'orders',
        query:
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status total { amountCents } items { quantity } } } }',
        representations: [{ __typename: 'Order', id: orderId }],
      },
      {
        subgraph: 'orders',
        query:
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders { totalCount edges { node { id } } } } } }',
        representations: [{ __typename: 'User', id: owner.id }],
      },
      {
        subgraph: 'payments',
        query:
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Payment { id status amount { amountCents } paymentMethod } } }',
        representations: [{ __typename: 'Payment', id: paymentId }],
      },
      {
        subgraph: 'payments',
        query:
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { payment { id status } } } }',
        representations: [{ __typename: 'Order', id: orderId }],
      },
      {
        subgraph: 'users',
        query:
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email role createdAt } } }',
        representations: [{ __typename: 'User', id: owner.id }],
      },
    ];
    for (const { subgraph, query, representations } of fishing) {
      const { body } = await directRequest(
        system,
        subgraph,
        query,
        { r: representations },
        {
          token: thief.token,
          asService: 'gateway',
        },
      );
      const text = JSON.stringify(body.data ?? null);
      for (const secret of ['4321', owner.email, paymentId, 'CAPTURED', 'CONFIRMED', 'pm_card_visa']) {
        expect({ subgraph, query, leaked: text.includes(secret) ? secret : null }).toEqual({
          subgraph,
          query,
          leaked: null,
        });
      }
      expect({ subgraph, query, errors: (body.errors?.length ?? 0) > 0 }).toEqual({
        subgraph,
        query,
        errors: true,
      });
      for (const error of body.errors ?? [])
        expect(['FORBIDDEN', 'UNAUTHENTICATED']).toContain(error.extensions?.code);
    }

    // The gateway's API schema has no _entities at all: a validation error (BAD_USER_INPUT).
    const viaGateway = await client.request(
      fishing[0]!.query,
      { r: fishing[0]!.representations },
      thief.token,
    );
    expect(viaGateway.data ?? null).toBeNull();
    expect(viaGateway.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('entity lookups that concurrent requests share', () => {
  // The subgraphs merge the by-id lookups of requests read at the same time into one statement
  // (sharedLookups): each request must still see only what its own caller may.
  it('answer each of two customers asking at once only with their own order and account', async () => {
    const product = await client.createProduct(admin, { priceCents: 2468, stock: 50 });
    const customers = [await client.registerCustomer(), await client.registerCustomer()];
    const orders: string[] = [];
    for (const customer of customers) {
      const placed = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
      orders.push(placed.data!.placeOrder.id);
    }
    const ORDERS = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status } } }';
    const USERS = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }';
    const both = {
      orders: orders.map((id) => ({ __typename: 'Order', id })),
      users: customers.map((c) => ({ __typename: 'User', id: c.id })),
    };
    const asking = Array.from({ length: 20 }, (_, i) => i % 2);
    const answers = await Promise.all(
      asking.flatMap((who) => [
        directRequest(
          system,
          'orders',
          ORDERS,
          { r: both.orders },
          { token: customers[who]!.token, asService: 'gateway' },
        ),
        directRequest(
          system,
          'users',
          USERS,
          { r: both.users },
          { token: customers[who]!.token, asService: 'gateway' },
        ),
      ]),
    );
    asking.forEach((who, i) => {
      const other = 1 - who;
      const [order, user] = [answers[2 * i]!.body, answers[2 * i + 1]!.body];
      const entities = (body: typeof order) => (body.data as { _entities: unknown[] })._entities;
      expect(entities(order)[who]).toEqual({ id: orders[who], status: expect.any(String) });
      expect(entities(order)[other]).toBeNull();
      expect(entities(user)[who]).toEqual({ id: customers[who]!.id, email: customers[who]!.email });
      expect(JSON.stringify(user.data)).not.toContain(customers[other]!.email);
      for (const error of [...(order.errors ?? []), ...(user.errors ?? [])])
        expect(error.extensions?.code).toBe('FORBIDDEN');
    });
  });
});

describe('administrator mutations by a customer', () => {
  it('are FORBIDDEN through the gateway and directly at the subgraph', async () => {
    const customer = await client.registerCustomer();
    const product = await client.createProduct(admin, { priceCents: 100, stock: 3 });
    const placed = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    const orderId = placed.data!.placeOrder.id;
    await events.until(orderId);
    const mutations = [
      {
        subgraph: 'products',
        query: 'mutation($i: ProductInput!) { createProduct(input: $i) { id } }',
        variables: { i: { sku: `SKU-X${Date.now()}`, name: 'Stolen', priceCents: 1 } },
      },
      {
        subgraph: 'products',
        query: 'mutation($id: ID!) { updateProduct(id: $id, input: { priceCents: 1 }) { id } }',
        variables: { id: product.id },
      },
      {
        subgraph: 'inventory',
        query: 'mutation($p: ID!) { setStock(productId: $p, available: 1000000) { available } }',
        variables: { p: product.id },
      },
      {
        subgraph: 'orders',
        query: 'mutation($id: ID!) { shipOrder(id: $id) { id status } }',
        variables: { id: orderId },
      },
      {
        subgraph: 'orders',
        query: 'mutation($id: ID!) { deliverOrder(id: $id) { id status } }',
        variables: { id: orderId },
      },
    ];
    for (const { subgraph, query, variables } of mutations) {
      const viaGateway = await client.request(query, variables, customer.token);
      expect({
        subgraph,
        query,
        via: 'gateway',
        code: viaGateway.errors?.[0]?.extensions?.code,
        data: viaGateway.data ?? null,
      }).toEqual({
        subgraph,
        query,
        via: 'gateway',
        code: 'FORBIDDEN',
        data: null,
      });
      const { body } = await directRequest(system, subgraph, query, variables, {
        token: customer.token,
        asService: 'gateway',
      });
      expect({ subgraph, query, via: 'direct', code: codeOf(body), data: body.data ?? null }).toEqual({
        subgraph,
        query,
        via: 'direct',
        code: 'FORBIDDEN',
        data: null,
      });
    }
    // Nothing changed.
    expect(await client.stock(product.id)).toEqual({ available: 2, reserved: 0 });
    expect((await client.order(customer.token, orderId))?.status).toBe('CONFIRMED');
  });
});
