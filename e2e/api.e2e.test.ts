// The API contract (../shared/API.md) through the real gateway over real HTTP, with every
// subgraph, PostgreSQL and NATS real: every query and mutation does what the contract says and
// fails with the contract's codes; no error ever carries a stack trace, SQL or an internal
// address; lists of entities cost one SQL query per subgraph, not one per row; every process
// answers health and metrics; a browser gets Apollo Sandbox.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../test/support/system.ts';
import { Client, OrderEvents, TEST_ADMIN_EMAIL, type Loose } from './support/client.ts';
import { PUBLIC_ERROR_CODES } from '../shared/errors.ts';
import { SUBGRAPHS } from '../scripts/lib/services.ts';
import { metricSum } from './support/metrics.ts';

const PROCESSES = ['gateway', ...SUBGRAPHS] as const;

let system: TestSystem;
let client: Client;
let events: OrderEvents;
let admin: string;
/** Every error any response of this file carried: checked for leaks as it arrives. */
let errorsSeen = 0;

/** A Client whose every response is checked: no error may carry internals. */
class CheckedClient extends Client {
  override async request<T = Loose>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<T>> {
    const response = await super.request<T>(query, variables, token);
    for (const error of response.errors ?? []) expectNoInternals(error);
    errorsSeen += response.errors?.length ?? 0;
    return response;
  }
}

beforeAll(async () => {
  system = await startTestSystem({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  client = new CheckedClient(system.urls.gateway!);
  events = await OrderEvents.listen(system);
  admin = await client.adminToken();
});

afterAll(async () => {
  await events?.close();
  await system?.dispose();
});

const unique = () => randomBytes(5).toString('hex');

/** The first error's code and extensions (the whole error, for readable failures). */
async function firstError(query: string, variables?: Record<string, unknown>, token?: string) {
  const response = await client.request(query, variables, token);
  expect(response.errors?.length).toBeGreaterThan(0);
  return response.errors![0]!;
}

// ---------------------------------------------------------------------------------------------
// Accounts

describe('accounts: register, login, me, user', () => {
  const REGISTER =
    'mutation($i: RegisterInput!) { register(input: $i) { token user { id email name role createdAt } } }';
  const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }';

  it('registers a CUSTOMER who is signed in at once', async () => {
    const email = `new-${unique()}@example.com`;
    const { register } = await client.data(REGISTER, {
      i: { email, password: 'a-good-password', name: 'Ada' },
    });
    expect(register.user).toEqual({
      id: expect.any(String),
      email,
      name: 'Ada',
      role: 'CUSTOMER',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    });
    const { me } = await client.data('{ me { id email role } }', {}, register.token);
    expect(me).toEqual({ id: register.user.id, email, role: 'CUSTOMER' });
  });

  it('refuses a duplicate email with CONFLICT, whatever its case', async () => {
    const email = `dup-${unique()}@example.com`;
    await client.data(REGISTER, { i: { email, password: 'a-good-password', name: 'One' } });
    const error = await firstError(REGISTER, {
      i: { email: email.toUpperCase(), password: 'another-password', name: 'Two' },
    });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses a bad email, a short password and an empty name with the field named', async () => {
    const input = { email: `ok-${unique()}@example.com`, password: 'a-good-password', name: 'Ok' };
    expect((await firstError(REGISTER, { i: { ...input, email: 'not-an-email' } })).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.email',
    });
    expect((await firstError(REGISTER, { i: { ...input, password: 'short' } })).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.password',
    });
    expect((await firstError(REGISTER, { i: { ...input, name: '   ' } })).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    });
    // None of them created the account.
    const created = await client.data(REGISTER, { i: input });
    expect(created.register.user.email).toBe(input.email);
  });

  it('logs in; a wrong password and an unknown email fail with the same UNAUTHENTICATED message', async () => {
    const customer = await client.registerCustomer('Login');
    const { login } = await client.data(LOGIN, { e: customer.email, p: 'customer-password' });
    expect(login.user.id).toBe(customer.id);
    expect((await client.data('{ me { id } }', {}, login.token)).me.id).toBe(customer.id);

    const wrongPassword = await firstError(LOGIN, { e: customer.email, p: 'not-the-password' });
    const unknownEmail = await firstError(LOGIN, { e: `nobody-${unique()}@example.com`, p: 'whatever-pw' });
    expect(wrongPassword.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknownEmail.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknownEmail.message).toBe(wrongPassword.message);
    expect(unknownEmail.extensions).toEqual(wrongPassword.extensions);
  });

  it('logs the seeded administrator in as ADMIN', async () => {
    const { me } = await client.data('{ me { email role } }', {}, admin);
    expect(me).toEqual({ email: TEST_ADMIN_EMAIL, role: 'ADMIN' });
  });

  it('answers me with null when anonymous', async () => {
    const response = await client.request('{ me { id email } }');
    expect(response).toEqual({ data: { me: null } });
  });

  it('shows a user to itself and to ADMIN; FORBIDDEN to another customer, UNAUTHENTICATED anonymously', async () => {
    const alice = await client.registerCustomer('Alice');
    const bob = await client.registerCustomer('Bob');
    const USER = 'query($id: ID!) { user(id: $id) { id email name role } }';
    const expected = { id: alice.id, email: alice.email, name: 'Alice', role: 'CUSTOMER' };

    expect((await client.data(USER, { id: alice.id }, alice.token)).user).toEqual(expected);
    expect((await client.data(USER, { id: alice.id }, admin)).user).toEqual(expected);
    expect((await firstError(USER, { id: alice.id }, bob.token)).extensions?.code).toBe('FORBIDDEN');
    expect((await firstError(USER, { id: alice.id })).extensions?.code).toBe('UNAUTHENTICATED');
    // An administrator asking for nobody gets null, malformed ids included.
    expect((await client.data(USER, { id: randomUUID() }, admin)).user).toBeNull();
    expect((await client.data(USER, { id: 'not-a-uuid' }, admin)).user).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Catalogue

const PRODUCT_FIELDS = 'id sku name description category price { amountCents currency } active';
const CREATE = `mutation($i: ProductInput!) { createProduct(input: $i) { ${PRODUCT_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $i: ProductUpdate!) { updateProduct(id: $id, input: $i) { ${PRODUCT_FIELDS} } }`;
const PRODUCTS = `query($f: ProductFilter, $first: Int, $after: String) {
  products(filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name active price { amountCents } } }
  } }`;

async function products(filter: Record<string, unknown>, token?: string, first?: number, after?: string) {
  const data = await client.data(PRODUCTS, { f: filter, first, after }, token);
  return data.products as {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: { id: string; name: string; active: boolean } }[];
  };
}

describe('catalogue: product, products, createProduct, updateProduct', () => {
  it('creates a product (ADMIN) that anyone can read by id', async () => {
    const sku = `sku-${unique()}`;
    const { createProduct } = await client.data(
      CREATE,
      {
        i: { sku, name: 'Kettle', description: 'Boils water', category: 'kitchen', priceCents: 2599 },
      },
      admin,
    );
    expect(createProduct).toEqual({
      id: expect.any(String),
      sku: sku.toUpperCase(),
      name: 'Kettle',
      description: 'Boils water',
      category: 'kitchen',
      price: { amountCents: 2599, currency: 'USD' },
      active: true,
    });
    const { product } = await client.data(`query($id: ID!) { product(id: $id) { ${PRODUCT_FIELDS} } }`, {
      id: createProduct.id,
    });
    expect(product).toEqual(createProduct);
    expect(
      (await client.data('query($id: ID!) { product(id: $id) { id } }', { id: randomUUID() })).product,
    ).toBeNull();
    expect(
      (await client.data('query($id: ID!) { product(id: $id) { id } }', { id: 'nope' })).product,
    ).toBeNull();
  });

  it('lets only ADMIN create and update products', async () => {
    const customer = await client.registerCustomer();
    const input = { sku: `S-${unique()}`, name: 'Nope', priceCents: 100 };
    expect((await firstError(CREATE, { i: input }, customer.token)).extensions?.code).toBe('FORBIDDEN');
    expect((await firstError(CREATE, { i: input })).extensions?.code).toBe('UNAUTHENTICATED');

    const product = await client.createProduct(admin, { priceCents: 100 });
    expect(
      (await firstError(UPDATE, { id: product.id, i: { name: 'Mine' } }, customer.token)).extensions?.code,
    ).toBe('FORBIDDEN');
    expect((await firstError(UPDATE, { id: product.id, i: { name: 'Mine' } })).extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('refuses a duplicate SKU with CONFLICT', async () => {
    const product = await client.createProduct(admin, { priceCents: 100 });
    const error = await firstError(
      CREATE,
      { i: { sku: product.sku.toLowerCase(), name: 'Twin', priceCents: 1 } },
      admin,
    );
    expect(error.extensions).toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses invalid products with BAD_USER_INPUT naming the field', async () => {
    const valid = { sku: `V-${unique()}`, name: 'Valid', priceCents: 100 };
    const cases: [Record<string, unknown>, string][] = [
      [{ sku: '!' }, 'input.sku'],
      [{ name: '  ' }, 'input.name'],
      [{ priceCents: -1 }, 'input.priceCents'],
      [{ currency: 'dollars' }, 'input.currency'],
      [{ description: 'x'.repeat(5001) }, 'input.description'],
    ];
    for (const [change, field] of cases) {
      const error = await firstError(CREATE, { i: { ...valid, ...change } }, admin);
      expect({ change, extensions: error.extensions }).toEqual({
        change,
        extensions: { code: 'BAD_USER_INPUT', field },
      });
    }
    const product = await client.createProduct(admin, { priceCents: 100 });
    expect((await firstError(UPDATE, { id: product.id, i: { priceCents: -5 } }, admin)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.priceCents',
    });
    expect((await firstError(UPDATE, { id: product.id, i: { name: '' } }, admin)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    });
  });

  it('updates only the fields given; NOT_FOUND for a product that does not exist', async () => {
    const category = `cat-${unique()}`;
    const product = await client.createProduct(admin, { priceCents: 1000, name: 'Lamp', category });
    const { updateProduct } = await client.data(
      UPDATE,
      { id: product.id, i: { priceCents: 1200, description: 'Bright' } },
      admin,
    );
    expect(updateProduct).toMatchObject({
      id: product.id,
      name: 'Lamp',
      category,
      description: 'Bright',
      price: { amountCents: 1200, currency: 'USD' },
      active: true,
    });
    expect(
      (await firstError(UPDATE, { id: randomUUID(), i: { name: 'Ghost' } }, admin)).extensions?.code,
    ).toBe('NOT_FOUND');
  });

  it('filters by search, category and price range', async () => {
    const word = `zq${unique()}`;
    const category = `cat-${unique()}`;
    const [cheap, middle, dear] = [
      await client.createProduct(admin, { priceCents: 500, name: `Red ${word} mug`, category }),
      await client.createProduct(admin, { priceCents: 1500, name: 'Blue plate', category }),
      await client.createProduct(admin, { priceCents: 2500, name: `Green ${word} bowl`, category }),
    ];
    const ids = async (filter: Record<string, unknown>) =>
      (await products(filter)).edges.map((e) => e.node.id).sort();

    expect(await ids({ category })).toEqual([cheap.id, middle.id, dear.id].sort());
    expect(await ids({ search: word })).toEqual([cheap.id, dear.id].sort());
    // The last word also matches as a prefix.
    expect(await ids({ search: `green ${word.slice(0, 6)}`, category })).toEqual([dear.id]);
    expect(await ids({ category, minPriceCents: 1000 })).toEqual([middle.id, dear.id].sort());
    expect(await ids({ category, maxPriceCents: 1500 })).toEqual([cheap.id, middle.id].sort());
    expect(await ids({ category, minPriceCents: 1000, maxPriceCents: 2000 })).toEqual([middle.id]);
    expect(await ids({ category: `${category}-none` })).toEqual([]);
    expect((await products({ category, search: word })).totalCount).toBe(2);
  });

  it('pages through products with first/after; totalCount counts every page', async () => {
    const category = `page-${unique()}`;
    const created = await Promise.all(
      ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'].map((name) =>
        client.createProduct(admin, { priceCents: 100, name, category }),
      ),
    );
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 3; page++) {
      const connection = await products({ category }, undefined, 2, after);
      expect(connection.totalCount).toBe(5);
      expect(connection.edges.length).toBe(page < 2 ? 2 : 1);
      expect(connection.pageInfo.hasNextPage).toBe(page < 2);
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)!.cursor);
      seen.push(...connection.edges.map((e) => e.node.name));
      after = connection.pageInfo.endCursor!;
    }
    expect(seen).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo']);
    expect(new Set(seen).size).toBe(created.length);

    const defaults = await products({ category });
    expect(defaults.edges).toHaveLength(5);
    expect(defaults.pageInfo).toEqual({ hasNextPage: false, endCursor: defaults.edges[4]!.cursor });

    expect((await firstError(PRODUCTS, { f: { category }, first: 0 })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
    });
    expect((await firstError(PRODUCTS, { f: { category }, after: 'garbage!' })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });

  it('hides inactive products from customers in products, not from ADMIN; product(id) still shows them', async () => {
    const category = `inactive-${unique()}`;
    const shown = await client.createProduct(admin, { priceCents: 100, name: 'Shown', category });
    const hidden = await client.createProduct(admin, { priceCents: 100, name: 'Hidden', category });
    await client.data(UPDATE, { id: hidden.id, i: { active: false } }, admin);
    const customer = await client.registerCustomer();

    for (const token of [undefined, customer.token]) {
      const connection = await products({ category }, token);
      expect(connection.edges.map((e) => e.node.id)).toEqual([shown.id]);
      expect(connection.totalCount).toBe(1);
    }
    const all = await products({ category }, admin);
    expect(all.edges.map((e) => [e.node.name, e.node.active])).toEqual([
      ['Hidden', false],
      ['Shown', true],
    ]);
    expect(all.totalCount).toBe(2);
    const { product } = await client.data('query($id: ID!) { product(id: $id) { id active } }', {
      id: hidden.id,
    });
    expect(product).toEqual({ id: hidden.id, active: false });
  });
});

// ---------------------------------------------------------------------------------------------
// Inventory

describe('inventory: setStock and Product.stock', () => {
  const SET = `mutation($p: ID!, $w: String, $a: Int!) {
    setStock(productId: $p, warehouse: $w, available: $a) { available reserved } }`;

  it('sets stock per warehouse (ADMIN); Product.stock sums the warehouses', async () => {
    const product = await client.createProduct(admin, { priceCents: 100 });
    expect(await client.stock(product.id)).toEqual({ available: 0, reserved: 0 });

    // `warehouse` defaults to "main".
    const main = await client.data(
      'mutation($p: ID!) { setStock(productId: $p, available: 5) { available reserved } }',
      { p: product.id },
      admin,
    );
    expect(main.setStock).toEqual({ available: 5, reserved: 0 });
    expect((await client.data(SET, { p: product.id, w: 'east', a: 3 }, admin)).setStock).toEqual({
      available: 8,
      reserved: 0,
    });
    // Setting a warehouse again replaces its figure, it does not add to it.
    expect((await client.data(SET, { p: product.id, w: 'main', a: 2 }, admin)).setStock).toEqual({
      available: 5,
      reserved: 0,
    });
    expect(await client.stock(product.id)).toEqual({ available: 5, reserved: 0 });
  });

  it('refuses customers, anonymous callers and bad figures', async () => {
    const product = await client.createProduct(admin, { priceCents: 100 });
    const customer = await client.registerCustomer();
    expect((await firstError(SET, { p: product.id, w: 'main', a: 1 }, customer.token)).extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await firstError(SET, { p: product.id, w: 'main', a: 1 })).extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await firstError(SET, { p: product.id, w: 'main', a: -1 }, admin)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'available',
    });
    expect((await firstError(SET, { p: product.id, w: 'no spaces!', a: 1 }, admin)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'warehouse',
    });
    expect((await firstError(SET, { p: 'not-a-uuid', w: 'main', a: 1 }, admin)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'productId',
    });
    expect(await client.stock(product.id)).toEqual({ available: 0, reserved: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Orders and payments

const ORDER_FIELDS = `
  id status failureReason createdAt updatedAt
  customer { id email name }
  total { amountCents currency }
  history { status at reason }
  items { quantity unitPrice { amountCents currency } product { id sku name price { amountCents } stock { available } } }
  payment { id status declineReason amount { amountCents currency } order { id status } }`;

describe('orders: placeOrder, order, myOrders, User.orders, Order.payment, Payment.order', () => {
  it('places an order that reads back across every subgraph', async () => {
    const product = await client.createProduct(admin, { priceCents: 1250, name: 'Teapot', stock: 10 });
    const customer = await client.registerCustomer('Olive');
    const placed = await client.data(
      `mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { ${ORDER_FIELDS} } }`,
      { i: { items: [{ productId: product.id, quantity: 2 }], paymentMethod: 'pm_card_visa' } },
      customer.token,
    );
    expect(placed.placeOrder).toMatchObject({
      status: 'PENDING',
      failureReason: null,
      customer: { id: customer.id, email: customer.email, name: 'Olive' },
      total: { amountCents: 2500, currency: 'USD' },
      history: [{ status: 'PENDING', at: expect.any(String), reason: null }],
      items: [
        { quantity: 2, unitPrice: { amountCents: 1250, currency: 'USD' }, product: { id: product.id } },
      ],
    });
    const id = placed.placeOrder.id as string;
    expect((await events.until(id)).status).toBe('CONFIRMED');

    // A later price change does not touch the order: its items keep the price of the day.
    await client.data(UPDATE, { id: product.id, i: { priceCents: 9999 } }, admin);

    const { order } = await client.data(
      `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`,
      { id },
      customer.token,
    );
    expect(order).toEqual({
      id,
      status: 'CONFIRMED',
      failureReason: null,
      createdAt: placed.placeOrder.createdAt,
      updatedAt: expect.any(String),
      customer: { id: customer.id, email: customer.email, name: 'Olive' },
      total: { amountCents: 2500, currency: 'USD' },
      history: ['PENDING', 'INVENTORY_RESERVED', 'PAYMENT_AUTHORIZED', 'CONFIRMED'].map((status) => ({
        status,
        at: expect.any(String),
        reason: null,
      })),
      items: [
        {
          quantity: 2,
          unitPrice: { amountCents: 1250, currency: 'USD' },
          product: {
            id: product.id,
            sku: product.sku,
            name: 'Teapot',
            price: { amountCents: 9999 },
            stock: { available: 8 },
          },
        },
      ],
      payment: {
        id: expect.any(String),
        status: 'CAPTURED',
        declineReason: null,
        amount: { amountCents: 2500, currency: 'USD' },
        order: { id, status: 'CONFIRMED' },
      },
    });
    expect(Date.parse(order.updatedAt)).toBeGreaterThanOrEqual(Date.parse(order.createdAt));
    // ADMIN sees it too.
    expect((await client.data('query($id: ID!) { order(id: $id) { id } }', { id }, admin)).order).toEqual({
      id,
    });
  });

  it('pages through myOrders and User.orders, newest first; ADMIN reads anyone’s orders', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 100 });
    const customer = await client.registerCustomer();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
      expect(response.errors).toBeUndefined();
      ids.push(response.data!.placeOrder.id);
    }
    const newestFirst = [...ids].reverse();
    const MY = `query($first: Int, $after: String) { myOrders(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id customer { id } } } } }`;

    const first = (await client.data(MY, { first: 2 }, customer.token)).myOrders;
    expect(first.totalCount).toBe(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.edges.map((e: Loose) => e.node.id)).toEqual(newestFirst.slice(0, 2));
    const second = (await client.data(MY, { first: 2, after: first.pageInfo.endCursor }, customer.token))
      .myOrders;
    expect(second.edges.map((e: Loose) => e.node.id)).toEqual(newestFirst.slice(2));
    expect(second.pageInfo).toEqual({ hasNextPage: false, endCursor: second.edges[0].cursor });
    expect(second.totalCount).toBe(3);

    const USER_ORDERS = `query($id: ID!, $first: Int) { user(id: $id) { id orders(first: $first) {
      totalCount pageInfo { hasNextPage } edges { node { id } } } } }`;
    const ME_ORDERS = '{ me { orders { totalCount edges { node { id status } } } } }';
    const mine = (await client.data(ME_ORDERS, {}, customer.token)).me.orders;
    expect(mine.totalCount).toBe(3);
    expect(mine.edges.map((e: Loose) => e.node.id)).toEqual(newestFirst);

    const byAdmin = (await client.data(USER_ORDERS, { id: customer.id, first: 1 }, admin)).user;
    expect(byAdmin.orders).toEqual({
      totalCount: 3,
      pageInfo: { hasNextPage: true },
      edges: [{ node: { id: newestFirst[0] } }],
    });
    for (const id of ids) {
      expect((await client.data('query($id: ID!) { order(id: $id) { id } }', { id }, admin)).order).toEqual({
        id,
      });
    }
    await Promise.all(ids.map((id) => events.until(id)));

    expect((await firstError(MY, { first: 101 }, customer.token)).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    expect((await firstError(MY, {})).extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps a customer to their own orders and payments', async () => {
    const product = await client.createProduct(admin, { priceCents: 700, stock: 10 });
    const owner = await client.registerCustomer();
    const other = await client.registerCustomer();
    const response = await client.placeOrder(owner.token, [{ productId: product.id, quantity: 1 }]);
    const id = response.data!.placeOrder.id;
    await events.until(id);

    const ORDER = 'query($id: ID!) { order(id: $id) { id payment { id status } } }';
    expect((await client.data(ORDER, { id }, other.token)).order).toBeNull();
    expect((await firstError(ORDER, { id })).extensions?.code).toBe('UNAUTHENTICATED');
    expect((await client.data('{ myOrders { totalCount } }', {}, other.token)).myOrders.totalCount).toBe(0);
    expect(
      (await client.data('{ me { orders { totalCount } } }', {}, other.token)).me.orders.totalCount,
    ).toBe(0);
    expect(
      (
        await firstError(
          'query($id: ID!) { user(id: $id) { orders { totalCount } } }',
          { id: owner.id },
          other.token,
        )
      ).extensions?.code,
    ).toBe('FORBIDDEN');

    // The owner's payment, reached through the order, is the owner's and ADMIN's only.
    const mine = (await client.data(ORDER, { id }, owner.token)).order;
    expect(mine.payment).toEqual({ id: expect.any(String), status: 'CAPTURED' });
    const asAdmin = (await client.data(ORDER, { id }, admin)).order;
    expect(asAdmin.payment).toEqual(mine.payment);
    // Nor can another customer reach it by its own id (payments' `payment` query, an extension).
    const PAYMENT = 'query($id: ID!) { payment(id: $id) { id status order { id } } }';
    const stolen = await client.request(PAYMENT, { id: mine.payment.id }, other.token);
    expect(stolen.data?.payment ?? null).toBeNull();
    expect((await client.data(PAYMENT, { id: mine.payment.id }, owner.token)).payment).toEqual({
      id: mine.payment.id,
      status: 'CAPTURED',
      order: { id },
    });

    // Unknown and malformed ids are plain nulls, never errors from the database.
    expect((await client.data(ORDER, { id: randomUUID() }, owner.token)).order).toBeNull();
    expect((await client.data(ORDER, { id: 'not-a-uuid' }, admin)).order).toBeNull();
  });

  it('shows a declined payment with its reason on the cancelled order', async () => {
    const product = await client.createProduct(admin, { priceCents: 300, stock: 5 });
    const customer = await client.registerCustomer();
    const response = await client.placeOrder(
      customer.token,
      [{ productId: product.id, quantity: 1 }],
      'pm_card_chargeDeclined',
    );
    const id = response.data!.placeOrder.id;
    expect((await events.until(id)).status).toBe('CANCELLED');
    const { order } = await client.data(
      'query($id: ID!) { order(id: $id) { status failureReason payment { status declineReason order { id } } } }',
      { id },
      customer.token,
    );
    expect(order).toEqual({
      status: 'CANCELLED',
      failureReason: 'PAYMENT_DECLINED',
      payment: { status: 'DECLINED', declineReason: 'PAYMENT_DECLINED', order: { id } },
    });
  });

  it('refuses a crafted cursor with BAD_USER_INPUT, not a database error', async () => {
    const customer = await client.registerCustomer();
    const crafted = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const after of [crafted(['yesterday', 'x']), crafted(['2026-01-01T00:00:00.000Z', 'not-a-uuid'])]) {
      const error = await firstError(
        'query($after: String) { myOrders(after: $after) { totalCount } }',
        { after },
        customer.token,
      );
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Batching: one SQL query per subgraph for a whole list

describe('lists cost one SQL query per subgraph, not one per row', () => {
  it('reads the stock of 50 products with one SQL query in inventory', async () => {
    const category = `batch-${unique()}`;
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.createProduct(admin, {
          priceCents: 100 + i,
          name: `Batch ${String(i).padStart(2, '0')}`,
          category,
        }),
      ),
    );
    await Promise.all(created.slice(0, 10).map((p, i) => client.setStock(admin, p.id, i + 1)));

    const before = await requestQueries('inventory');
    const data = await client.data(
      'query($f: ProductFilter) { products(filter: $f, first: 50) { edges { node { id stock { available reserved } } } } }',
      { f: { category } },
    );
    const after = await requestQueries('inventory');

    expect(data.products.edges).toHaveLength(50);
    const stock = new Map(created.map((p, i) => [p.id, i < 10 ? i + 1 : 0]));
    for (const { node } of data.products.edges) {
      expect(node.stock).toEqual({ available: stock.get(node.id), reserved: 0 });
    }
    expect(after - before).toBe(1);
  });

  it('reads a list of orders with their items and payments in a few SQL queries, however many orders', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 100 });
    const other = await client.createProduct(admin, { priceCents: 200, stock: 100 });
    const customer = await client.registerCustomer();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await client.placeOrder(customer.token, [
        { productId: product.id, quantity: 1 },
        { productId: other.id, quantity: 2 },
      ]);
      ids.push(response.data!.placeOrder.id);
    }
    await Promise.all(ids.map((id) => events.until(id)));

    const LIST = `query($first: Int) { myOrders(first: $first) { edges { node {
      id items { quantity product { id name } } payment { status amount { amountCents } } } } } }`;
    const cost = async (first: number) => {
      const before = { orders: await requestQueries('orders'), payments: await requestQueries('payments') };
      const data = await client.data(LIST, { first }, customer.token);
      expect(data.myOrders.edges).toHaveLength(first);
      for (const { node } of data.myOrders.edges) {
        expect(node.items).toHaveLength(2);
        expect(node.payment).toEqual({ status: 'CAPTURED', amount: { amountCents: 500 } });
      }
      return {
        orders: (await requestQueries('orders')) - before.orders,
        payments: (await requestQueries('payments')) - before.payments,
      };
    };
    const two = await cost(2);
    const six = await cost(6);
    expect(six).toEqual(two);
    expect(six.payments).toBe(1);
    // The page with the items of every order on it, in one statement.
    expect(six.orders).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Transport: tokens, health, metrics, Sandbox, errors

describe('transport', () => {
  it('answers an invalid token with UNAUTHENTICATED and HTTP 401, even on a public query', async () => {
    for (const token of ['garbage', `${admin.slice(0, -4)}AAAA`]) {
      const response = await fetch(system.urls.gateway!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ products(first: 1) { totalCount } }' }),
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as GraphQLResponse;
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      for (const error of body.errors ?? []) expectNoInternals(error);
    }
  });

  it('answers queries sent with GET', async () => {
    const url = new URL(system.urls.gateway!);
    url.searchParams.set('query', '{ me { id } }');
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { me: null } });
  });

  it.each(PROCESSES)(
    '%s answers /health/live, /health/ready (JSON) and /metrics (Prometheus text)',
    async (name) => {
      const base = system.process(name).baseUrl;
      for (const path of ['/health/live', '/health/ready']) {
        const response = await fetch(`${base}${path}`);
        expect({ path, status: response.status }).toEqual({ path, status: 200 });
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await response.json()).toEqual(expect.any(Object));
      }
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await metrics.text();
      expect(text).toMatch(/^# HELP /m);
      expect(text).toMatch(/^# TYPE \w+ (counter|gauge|histogram|summary)$/m);
      expect(text).toContain(`service="${name}"`);
    },
  );

  it.each(['/graphql', '/'])('serves the Apollo Sandbox landing page to a browser at %s', async (path) => {
    const response = await fetch(new URL(path, system.urls.gateway!), {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toMatch(/sandbox/i);
    expect(html).toMatch(/<html/i);
  });

  it('never lets an error carry a stack trace, SQL or an internal address', async () => {
    const customer = await client.registerCustomer();
    // Malformed documents and hostile input: refused in the contract's words, or a plain null.
    const probes: [string, Record<string, unknown>?, string?][] = [
      ['{ nope }'],
      ['{ products(first: "x") { totalCount } }'],
      ['query { product(id: $undefined) { id } }'],
      ['{ me { id '],
      ['query($id: ID!) { order(id: $id) { id } }', { id: "'; drop table orders; --" }, customer.token],
      ['query($id: ID!) { user(id: $id) { id } }', { id: "1' or '1'='1" }, admin],
      [
        'query($a: String) { products(after: $a) { totalCount } }',
        { a: Buffer.from('["x"]').toString('base64url') },
      ],
      ['query($f: ProductFilter) { products(filter: $f) { totalCount } }', { f: { search: "&|!():*'" } }],
      [
        'query($f: ProductFilter) { products(filter: $f) { totalCount } }',
        { f: { minPriceCents: 10, maxPriceCents: 1 } },
      ],
      ['mutation { placeOrder(input: { items: [], paymentMethod: "x" }) { id } }', {}, customer.token],
      [
        'mutation($p: ID!) { setStock(productId: $p, available: 2147483647) { available } }',
        { p: randomUUID() },
        admin,
      ],
      ['mutation($id: ID!) { cancelOrder(id: $id) { id } }', { id: 'zzz' }, customer.token],
      ['mutation($id: ID!) { shipOrder(id: $id) { id } }', { id: randomUUID() }, admin],
      ['query($id: ID!) { order(id: $id) { id } }', { id: 'x'.repeat(10_000) }, customer.token],
    ];
    const before = errorsSeen;
    for (const [query, variables, token] of probes) {
      const response = await client.request(query, variables, token);
      // CheckedClient has already looked for internals; none of these is the server's fault.
      expect({ query, codes: response.errors?.map((e) => e.extensions?.code) ?? [] }).toEqual({
        query,
        codes: expect.not.arrayContaining(['INTERNAL_SERVER_ERROR']),
      });
    }
    expect(errorsSeen - before).toBeGreaterThanOrEqual(probes.length - 3);
  });

  it('names a subgraph that is down and nothing more: no internal URL, host or connection error', async () => {
    const product = await client.createProduct(admin, { priceCents: 100, stock: 5 });
    const customer = await client.registerCustomer();
    const placed = await client.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    const id = placed.data!.placeOrder.id;
    await events.until(id);

    await system.kill('payments');
    try {
      const response = await client.request(
        'query($id: ID!) { order(id: $id) { id status payment { status } } }',
        { id },
        customer.token,
      );
      // The orders part still answers; the payment is null with one error naming the subgraph
      // (by its name in the supergraph, never its address: CheckedClient looks for internals).
      expect(response.data?.order).toMatchObject({ id, status: 'CONFIRMED', payment: null });
      expect(response.errors?.map((e) => e.extensions)).toEqual([
        { code: 'SUBGRAPH_UNAVAILABLE', service: 'payments' },
      ]);
    } finally {
      await system.restart('payments');
    }
    expect((await client.order(customer.token, id))!.payment?.status).toBe('CAPTURED');
  });
});

// ---------------------------------------------------------------------------------------------

/** `sql_queries_total{source="request"}` of one process. */
function requestQueries(name: string): Promise<number> {
  return metricSum(system.process(name).baseUrl, 'sql_queries_total', 'source="request"');
}

const INTERNALS: [string, RegExp][] = [
  ['a stack frame', /\bat .+[(/].+:\d+:\d+\)?|\.ts:\d+|node:internal|node_modules/],
  [
    'SQL',
    /\b(select|insert into|update|delete from)\b.+\b(from|where|set|values)\b|\bviolates\b|\bduplicate key\b|\brelation "|\bsyntax error at or near\b|\bpg_|\bSQLSTATE\b/i,
  ],
  ['an internal address', /\bhttps?:\/\/|\b127\.0\.0\.1\b|\blocalhost\b|:\d{4,5}\b|\bECONNREFUSED\b/],
  ['an internal extension', /"(stacktrace|exception|serviceName|response|query|variables)"\s*:/],
];

/** Fails when the error's JSON shows anything of the inside of the system. */
function expectNoInternals(error: unknown): void {
  const json = JSON.stringify(error);
  for (const [what, pattern] of INTERNALS) {
    if (pattern.test(json)) throw new Error(`an error carries ${what}: ${json}`);
  }
  const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
  if (typeof code !== 'string' || !PUBLIC_ERROR_CODES.has(code))
    throw new Error(`an error without a contract code: ${json}`);
}
