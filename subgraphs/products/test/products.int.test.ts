// The products subgraph over real HTTP, with a users subgraph of its own for real tokens, on
// real PostgreSQL and NATS; its databases are dropped afterwards whatever happens.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { databaseUrl } from '../../../shared/db/database.ts';
import type { RunningService } from '../../../shared/service/subgraph-service.ts';
import { dropTestResources, graphqlRequest, type GraphQLResponse } from '../../../test/support/system.ts';
import {
  sqlQueryCount,
  startTestUsers,
  testEnvironment,
  type TestUsers,
} from '../../../test/support/subgraph.ts';
import { startProducts } from '../src/server.ts';

const env = testEnvironment();
let users: TestUsers | undefined;
let products: RunningService | undefined;
let db: pg.Client | undefined;
let admin = '';
let customer = '';

const PRODUCT_FIELDS = 'id sku name description category price { amountCents currency } active';

interface ProductData {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  category: string | null;
  price: { amountCents: number; currency: string };
  active: boolean;
}
interface Connection {
  edges: { cursor: string; node: ProductData }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

function gql<T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
) {
  return graphqlRequest<T>(products!.url, query, variables, token);
}

const CREATE = `mutation($input: ProductInput!) { createProduct(input: $input) { ${PRODUCT_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: ProductUpdate!) { updateProduct(id: $id, input: $input) { ${PRODUCT_FIELDS} } }`;
const LIST = `query($filter: ProductFilter, $first: Int, $after: String) {
  products(filter: $filter, first: $first, after: $after) {
    edges { cursor node { ${PRODUCT_FIELDS} } } pageInfo { hasNextPage endCursor } totalCount } }`;

async function create(input: Record<string, unknown>): Promise<ProductData> {
  const result = await gql<{ createProduct: ProductData }>(CREATE, { input }, admin);
  expect(result.errors).toBeUndefined();
  return result.data!.createProduct;
}

function errorOf(result: GraphQLResponse<unknown>) {
  expect(result.errors?.length).toBeGreaterThan(0);
  return result.errors![0]!.extensions ?? {};
}

async function list(variables: Record<string, unknown>, token?: string): Promise<Connection> {
  const result = await gql<{ products: Connection }>(LIST, variables, token);
  expect(result.errors).toBeUndefined();
  return result.data!.products;
}

beforeAll(async () => {
  users = await startTestUsers(env);
  admin = users.adminToken;
  customer = await users.customerToken();
  const config = env.config('products', users.jwksUrl);
  products = await startProducts(config, env.logger, { messaging: false });
  db = new pg.Client({ connectionString: databaseUrl(config.databaseUrl, config.databaseName) });
  await db.connect();
});

afterAll(async () => {
  const results = await Promise.allSettled([db?.end(), products?.stop(), users?.stop()]);
  await dropTestResources(env.resources);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe('createProduct and updateProduct', () => {
  test('an administrator creates a product; the change and its event commit together', async () => {
    const product = await create({
      sku: ' kb-100 ',
      name: 'Mechanical Keyboard',
      description: 'Tactile switches',
      category: 'peripherals',
      priceCents: 8999,
    });
    expect(product).toEqual({
      id: expect.any(String),
      sku: 'KB-100',
      name: 'Mechanical Keyboard',
      description: 'Tactile switches',
      category: 'peripherals',
      price: { amountCents: 8999, currency: 'USD' },
      active: true,
    });
    const { rows } = await db!.query(
      `select subject, payload from outbox where payload->>'productId' = $1 order by seq`,
      [product.id],
    );
    expect(rows).toEqual([
      {
        subject: 'products.evt.product_changed',
        payload: {
          v: 1,
          productId: product.id,
          sku: 'KB-100',
          name: 'Mechanical Keyboard',
          priceCents: 8999,
          currency: 'USD',
          active: true,
          revision: 1,
        },
      },
    ]);
  });

  test('every update raises the revision and writes its event; null clears optional text', async () => {
    const product = await create({
      sku: 'MUG-1',
      name: 'Mug',
      description: 'White',
      priceCents: 500,
      currency: 'EUR',
    });
    const first = await gql<{ updateProduct: ProductData }>(
      UPDATE,
      { id: product.id, input: { name: 'Big Mug', priceCents: 650, description: null } },
      admin,
    );
    expect(first.errors).toBeUndefined();
    expect(first.data!.updateProduct).toMatchObject({
      name: 'Big Mug',
      description: null,
      price: { amountCents: 650, currency: 'EUR' },
      active: true,
    });
    const second = await gql<{ updateProduct: ProductData }>(
      UPDATE,
      { id: product.id, input: { active: false } },
      admin,
    );
    expect(second.data!.updateProduct.active).toBe(false);
    const { rows } = await db!.query<{
      payload: { revision: number; name: string; active: boolean; priceCents: number };
    }>(`select payload from outbox where payload->>'productId' = $1 order by seq`, [product.id]);
    expect(
      rows.map((r) => [r.payload.revision, r.payload.name, r.payload.priceCents, r.payload.active]),
    ).toEqual([
      [1, 'Mug', 500, true],
      [2, 'Big Mug', 650, true],
      [3, 'Big Mug', 650, false],
    ]);
  });

  test('concurrent updates of one product each get a revision of their own', async () => {
    const product = await create({ sku: 'RACE-1', name: 'Racer', priceCents: 100 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        gql(UPDATE, { id: product.id, input: { priceCents: 200 + i } }, admin),
      ),
    );
    for (const result of results) expect(result.errors).toBeUndefined();
    const { rows } = await db!.query<{ revision: number }>(
      `select (payload->>'revision')::int as revision from outbox where payload->>'productId' = $1 order by 1`,
      [product.id],
    );
    expect(rows.map((r) => r.revision)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('customers are FORBIDDEN and anonymous callers UNAUTHENTICATED; nothing is written', async () => {
    const input = { sku: 'NOPE-1', name: 'Nope', priceCents: 1 };
    expect(errorOf(await gql(CREATE, { input }, customer)).code).toBe('FORBIDDEN');
    expect(errorOf(await gql(CREATE, { input })).code).toBe('UNAUTHENTICATED');
    const product = await create({ sku: 'PERM-1', name: 'Guarded', priceCents: 1 });
    expect(errorOf(await gql(UPDATE, { id: product.id, input: { name: 'x' } }, customer)).code).toBe(
      'FORBIDDEN',
    );
    expect(errorOf(await gql(UPDATE, { id: product.id, input: { name: 'x' } })).code).toBe('UNAUTHENTICATED');
    const { rows } = await db!.query(`select 1 from products where sku = 'NOPE-1' or name = 'x'`);
    expect(rows).toHaveLength(0);
  });

  test('a duplicate SKU, in any case, is a CONFLICT', async () => {
    await create({ sku: 'DUP-1', name: 'Original', priceCents: 1 });
    const again = await gql(CREATE, { input: { sku: 'dup-1', name: 'Copy', priceCents: 1 } }, admin);
    expect(errorOf(again)).toMatchObject({ code: 'CONFLICT', field: 'input.sku' });
    const { rows } = await db!.query(`select count(*)::int as n from outbox where payload->>'sku' = 'DUP-1'`);
    expect(rows[0].n).toBe(1);
  });

  test.each([
    ['input.sku', { sku: 'a', name: 'x', priceCents: 1 }],
    ['input.sku', { sku: 'BAD SKU', name: 'x', priceCents: 1 }],
    ['input.name', { sku: 'OK-1', name: '   ', priceCents: 1 }],
    ['input.name', { sku: 'OK-1', name: 'n'.repeat(201), priceCents: 1 }],
    ['input.priceCents', { sku: 'OK-1', name: 'x', priceCents: -1 }],
    ['input.priceCents', { sku: 'OK-1', name: 'x', priceCents: 100_000_001 }],
    ['input.currency', { sku: 'OK-1', name: 'x', priceCents: 1, currency: 'usd' }],
    ['input.currency', { sku: 'OK-1', name: 'x', priceCents: 1, currency: 'EURO' }],
    ['input.category', { sku: 'OK-1', name: 'x', priceCents: 1, category: 'c'.repeat(101) }],
  ])('createProduct with a bad %s is BAD_USER_INPUT (case %#)', async (field, input) => {
    expect(errorOf(await gql(CREATE, { input }, admin))).toEqual({ code: 'BAD_USER_INPUT', field });
  });

  test('updateProduct validates, and an unknown id is NOT_FOUND', async () => {
    const product = await create({ sku: 'VAL-1', name: 'Valid', priceCents: 1 });
    expect(errorOf(await gql(UPDATE, { id: product.id, input: { priceCents: 1.5e8 } }, admin))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.priceCents',
    });
    expect(errorOf(await gql(UPDATE, { id: product.id, input: { name: null } }, admin))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    });
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(errorOf(await gql(UPDATE, { id: missing, input: { name: 'x' } }, admin)).code).toBe('NOT_FOUND');
    expect(errorOf(await gql(UPDATE, { id: 'not-a-uuid', input: { name: 'x' } }, admin)).code).toBe(
      'NOT_FOUND',
    );
  });
});

describe("a list's totalCount", () => {
  test('is shared by requests for a few seconds, yet shows a write through the subgraph at once', async () => {
    const category = `counted-${randomUUID()}`;
    expect((await list({ filter: { category } })).totalCount).toBe(0);
    const made = await create({
      sku: `CNT-${randomUUID().slice(0, 8)}`,
      name: 'Counted',
      category,
      priceCents: 100,
    });
    expect((await list({ filter: { category } })).totalCount).toBe(1);
    await gql(UPDATE, { id: made.id, input: { active: false } }, admin);
    expect((await list({ filter: { category } })).totalCount).toBe(0);
    expect((await list({ filter: { category } }, admin)).totalCount).toBe(1);
  });
});

describe('product, products and entity references', () => {
  const category = 'footwear';
  let catalogue: ProductData[] = [];

  beforeAll(async () => {
    const specs = [
      ['SH-TRAIL', 'Trail Running Shoe', 'Grippy soles for mud', 12000],
      ['SH-ROAD', 'Road Running Shoe', 'Light and fast', 11000],
      ['SH-WALK', 'Walking Shoe', 'Comfortable all day', 7000],
      ['SH-BOOT', 'Hiking Boot', 'Waterproof leather', 15000],
      ['SH-SANDAL', 'Beach Sandal', 'For the summer', 2500],
      ['SH-SLIPPER', 'Cosy Slipper', 'Wool lined', 3000],
      ['SH-SPIKE', 'Sprint Spikes', 'Track running', 9000],
    ] as const;
    catalogue = [];
    for (const [sku, name, description, priceCents] of specs) {
      catalogue.push(await create({ sku, name, description, category, priceCents }));
    }
    // One inactive product in the category: only administrators list it.
    const hidden = await create({ sku: 'SH-OLD', name: 'Old Running Shoe', category, priceCents: 5000 });
    await gql(UPDATE, { id: hidden.id, input: { active: false } }, admin);
  });

  test('product(id) is public, shows inactive products, and is null for unknown or malformed ids', async () => {
    const q = `query($id: ID!) { product(id: $id) { name active } }`;
    const { rows } = await db!.query<{ id: string }>(`select id from products where sku = 'SH-OLD'`);
    expect((await gql(q, { id: rows[0]!.id })).data).toEqual({
      product: { name: 'Old Running Shoe', active: false },
    });
    expect((await gql(q, { id: '00000000-0000-4000-8000-000000000000' })).data).toEqual({ product: null });
    expect((await gql(q, { id: 'nope' })).data).toEqual({ product: null });
  });

  test('only administrators see inactive products in products', async () => {
    const filter = { category };
    expect((await list({ filter })).totalCount).toBe(7);
    expect((await list({ filter }, customer)).totalCount).toBe(7);
    const all = await list({ filter }, admin);
    expect(all.totalCount).toBe(8);
    expect(all.edges.map((e) => e.node.name)).toContain('Old Running Shoe');
  });

  test('text search matches words in any field, the last one as a prefix', async () => {
    const names = async (search: string, token?: string) =>
      (await list({ filter: { search, category } }, token)).edges.map((e) => e.node.name);
    expect(await names('runn')).toEqual(['Road Running Shoe', 'Sprint Spikes', 'Trail Running Shoe']);
    expect(await names('trail run')).toEqual(['Trail Running Shoe']);
    expect(await names('MUD')).toEqual(['Trail Running Shoe']);
    expect(await names('sh-boot')).toEqual(['Hiking Boot']);
    expect(await names('footw')).toHaveLength(7);
    expect(await names('running', admin)).toEqual([
      'Old Running Shoe',
      'Road Running Shoe',
      'Sprint Spikes',
      'Trail Running Shoe',
    ]);
    expect(await names('zebra')).toEqual([]);
  });

  test('category and price range filter, and combine with search', async () => {
    const byPrice = await list({ filter: { category, minPriceCents: 7000, maxPriceCents: 12000 } });
    expect(byPrice.edges.map((e) => e.node.price.amountCents).sort((a, b) => a - b)).toEqual([
      7000, 9000, 11000, 12000,
    ]);
    expect(byPrice.totalCount).toBe(4);
    const combined = await list({ filter: { category, search: 'shoe', maxPriceCents: 11000 } });
    expect(combined.edges.map((e) => e.node.name)).toEqual(['Road Running Shoe', 'Walking Shoe']);
    expect((await list({ filter: { category: 'nothing-here' } })).totalCount).toBe(0);
  });

  test('keyset pagination walks every product once, in name order, with the total on each page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    const pages: boolean[] = [];
    do {
      const page: Connection = await list({ filter: { category }, first: 3, after });
      expect(page.totalCount).toBe(7);
      seen.push(...page.edges.map((e) => e.node.name));
      pages.push(page.pageInfo.hasNextPage);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(pages).toEqual([true, true, false]);
    expect(seen).toEqual(catalogue.map((p) => p.name).sort());
  });

  test.each([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ after: 'not a cursor!' }, 'after'],
    [{ after: Buffer.from('{"x":1}').toString('base64url') }, 'after'],
    [{ after: Buffer.from('["a","not-a-uuid"]').toString('base64url') }, 'after'],
    [{ filter: { search: '!!!' } }, 'filter.search'],
    [{ filter: { minPriceCents: -1 } }, 'filter.minPriceCents'],
    [{ filter: { minPriceCents: 10, maxPriceCents: 5 } }, 'filter.maxPriceCents'],
  ])('products(%j) is BAD_USER_INPUT naming %s', async (variables, field) => {
    expect(errorOf(await gql(LIST, variables))).toEqual({ code: 'BAD_USER_INPUT', field });
  });

  test('_entities resolves a batch of products with one SQL query', async () => {
    const representations = [
      ...catalogue.map((p) => ({ __typename: 'Product', id: p.id })),
      { __typename: 'Product', id: '00000000-0000-4000-8000-000000000000' },
      { __typename: 'Product', id: 'malformed' },
    ];
    const before = await sqlQueryCount(products!);
    const result = await gql<{ _entities: ({ name: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name price { amountCents } } } }`,
      { r: representations },
    );
    const after = await sqlQueryCount(products!);
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities.map((e) => e?.name ?? null)).toEqual([
      ...catalogue.map((p) => p.name),
      null,
      null,
    ]);
    expect(after - before).toBe(1);
  });
});
