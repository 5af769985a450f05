// A search page (product.store.ts, searchPage) against the plain ORDER BY it stands for, over
// 3,000 products on real PostgreSQL: every page of broad, narrow, medium and clustered searches,
// with page sizes and filters, under custom and generic plans; and the plans of a broad and a
// narrow first page. The database is dropped afterwards whatever happens.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { databaseUrl, openDatabase, type MikroORM } from '../../../shared/db/database.ts';
import { testEnvironment } from '../../../test/support/subgraph.ts';
import { dropTestResources } from '../../../test/support/system.ts';
import { entities } from '../src/server.ts';
import { migrations } from '../src/migrations/index.ts';
import { prepareProductQuery, type ProductFilter, type ProductQuery } from '../src/domain/catalogue.ts';
import { findProductPage, productPageStatement } from '../src/domain/product.store.ts';

const env = testEnvironment();
const databaseName = `${env.id}_products`;
let orm: MikroORM | undefined;
let db: pg.Client | undefined;

const PRODUCTS = 3000;

beforeAll(async () => {
  orm = await openDatabase({
    serverUrl: env.resources.databaseUrl,
    databaseName,
    entities,
    migrations,
    logger: env.logger,
  });
  db = new pg.Client({ connectionString: databaseUrl(env.resources.databaseUrl, databaseName) });
  await db.connect();
  // 20 adjectives by 10 nouns, so one name is shared by up to 150 products (the id orders them),
  // a number in a third of them. "steel" is in 10 of 11 products (broad), "zebra" in 6
  // (narrow), "walnut" in 2 % (fewer than a page among the products a search page walks in name
  // order, but 10 % of its category), and "coastal" only in the products named Sable or Tidal,
  // which come last: its first pages lie past the products the walk reads, its last ones within
  // them. Every ninth product is inactive.
  await db.query(
    `insert into products (id, sku, name, description, category, price_cents, currency, active, version, created_at, updated_at)
     select gen_random_uuid(), 'SKU-' || g,
       (array['Alpine','Brisk','Cobalt','Dusky','Ember','Frosty','Golden','Hazel','Ivory','Jade',
              'Kinetic','Lunar','Maple','Nimbus','Opal','Polar','Quartz','Rustic','Sable','Tidal'])[1 + (g * 7) % 20]
         || ' ' || (array['Kettle','Lamp','Chair','Mug','Jacket','Boot','Shelf','Blanket','Clock','Vase'])[1 + (g / 20) % 10]
         || case when g % 3 = 0 then ' ' || g else '' end,
       concat_ws(' ',
         case when g % 11 <> 0 then 'Stainless steel.' end,
         case when g % 500 = 3 then 'Zebra stripes.' end,
         case when g % 50 = 7 then 'Walnut handle.' end,
         case when (g * 7) % 20 >= 18 then 'Coastal range.' end,
         'Made to last.'),
       'cat' || (g % 5), (g * 7919) % 20000, 'USD', g % 9 <> 0, 1, now(), now()
     from generate_series(1, $1::int) g`,
    [PRODUCTS],
  );
  // As autovacuum leaves a table: statistics, and the search index's pending entries merged.
  await db.query('vacuum analyze products');
});

afterAll(async () => {
  const results = await Promise.allSettled([db?.end(), orm?.close(true)]);
  await dropTestResources(env.resources);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

interface Case extends ProductFilter {
  readonly search: string;
  readonly first: number;
  readonly includeInactive?: boolean;
}

function queryOf(c: Case, after: { name: string; id: string } | null): ProductQuery {
  const { first, includeInactive = false, ...filter } = c;
  return { ...prepareProductQuery({ filter, first, includeInactive }), after };
}

/** The ids of every match in page order, by the plain statement, written out here. */
async function expectedIds(c: Case): Promise<string[]> {
  const query = queryOf(c, null);
  const { rows } = await db!.query<{ id: string }>(
    `select id from products
     where search @@ to_tsquery('simple', $1)
       and ($2::boolean or active)
       and ($3::text is null or category = $3)
       and ($4::int is null or price_cents >= $4)
       and ($5::int is null or price_cents <= $5)
     order by name, id`,
    [query.tsquery, query.includeInactive, query.category, query.minPriceCents, query.maxPriceCents],
  );
  return rows.map((r) => r.id);
}

function pagesOf(ids: readonly string[], first: number) {
  const pages: { ids: string[]; hasNextPage: boolean }[] = [];
  let i = 0;
  do {
    pages.push({ ids: ids.slice(i, i + first), hasNextPage: i + first < ids.length });
    i += first;
  } while (i < ids.length);
  return pages;
}

type Row = { id: string; name: string };
type PageReader = (query: ProductQuery) => Promise<{ rows: Row[]; hasNextPage: boolean }>;

/** Every page, each asked for with the cursor of the one before, as a client pages. */
async function walk(c: Case, read: PageReader) {
  const pages: { ids: string[]; hasNextPage: boolean }[] = [];
  let after: Row | null = null;
  for (;;) {
    const { rows, hasNextPage } = await read(queryOf(c, after));
    pages.push({ ids: rows.map((r) => r.id), hasNextPage });
    if (!hasNextPage) return pages;
    // A page that does not move past its cursor would page for ever.
    if (pages.length > PRODUCTS) throw new Error(`more pages than products: ${JSON.stringify(c)}`);
    after = rows.at(-1)!;
  }
}

/** The store, as the subgraph runs it: pg's unnamed statements, so custom plans. */
const throughStore: PageReader = async (query) => {
  const page = await findProductPage(orm!.em.fork(), query);
  return { rows: page.products, hasNextPage: page.hasNextPage };
};

/** The store's statement as a named prepared statement on a session that forces generic plans. */
const throughGenericPlan: PageReader = async (query) => {
  const { sql, parameters } = productPageStatement(orm!.em.fork(), query);
  const name = `page_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
  const { rows } = await db!.query<Row>({ name, text: sql, values: parameters });
  return { rows: rows.slice(0, query.first), hasNextPage: rows.length > query.first };
};

const CASES: Case[] = [
  { search: 'steel', first: 20 },
  { search: 'steel', first: 100, includeInactive: true },
  { search: 'ste', first: 7, category: 'cat2' },
  { search: 'steel', first: 20, minPriceCents: 5000, maxPriceCents: 9000 },
  { search: 'zebra', first: 1 },
  { search: 'zebra', first: 20, includeInactive: true },
  { search: 'walnut', first: 20 },
  { search: 'walnut', first: 3, category: 'cat2', maxPriceCents: 12000 },
  { search: 'coastal', first: 20 },
  { search: 'coastal steel', first: 50, minPriceCents: 1000 },
  { search: 'nothing', first: 20 },
];

describe('a search page', () => {
  test.each(CASES)('pages as the plain ORDER BY does: %j', async (c) => {
    const expected = pagesOf(await expectedIds(c), c.first);
    expect(await walk(c, throughStore)).toEqual(expected);
    await db!.query('set plan_cache_mode = force_generic_plan');
    try {
      expect(await walk(c, throughGenericPlan)).toEqual(expected);
    } finally {
      await db!.query('reset plan_cache_mode');
    }
  });

  test('the cases cover broad, narrow and clustered searches and their last pages', async () => {
    const counts = await Promise.all(CASES.map(async (c) => (await expectedIds(c)).length));
    expect(counts[0]).toBeGreaterThan(2000);
    expect(counts[4]).toBeLessThan(10);
    expect(counts[8]).toBeGreaterThan(200);
    expect(counts.at(-1)).toBe(0);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/** The executed plan of a page's statement, prepared and run as a generic plan. */
async function genericPlan(query: ProductQuery): Promise<PlanNode[]> {
  const { sql, parameters } = productPageStatement(orm!.em.fork(), query);
  const literals = parameters.map((v) => (typeof v === 'string' ? db!.escapeLiteral(v) : String(v)));
  await db!.query('set plan_cache_mode = force_generic_plan');
  await db!.query(`prepare explained as ${sql}`);
  try {
    const { rows } = await db!.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `explain (analyze, format json) execute explained(${literals.join(', ')})`,
    );
    return nodesOf(rows[0]!['QUERY PLAN'][0].Plan);
  } finally {
    await db!.query('deallocate explained');
    await db!.query('reset plan_cache_mode');
  }
}

/** The products a node read: the rows it returned and those its filter dropped, on every loop. */
function rowsRead(node: PlanNode): number {
  return (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'];
}

describe("a search page's generic plan", () => {
  test('reads a page of a broad search, not every match, and sorts no more than a page', async () => {
    const query = queryOf({ search: 'steel', first: 20 }, null);
    const nodes = await genericPlan(query);
    const read = nodes.filter((n) => n['Relation Name'] === 'products').reduce((n, p) => n + rowsRead(p), 0);
    expect(read).toBeLessThan(100);
    for (const sort of nodes.filter((n) => n['Node Type'] === 'Sort')) {
      expect(rowsRead(sort.Plans![0]!)).toBeLessThanOrEqual(query.first + 1);
    }
  });

  test('finds a narrow search through the search index, after a bounded walk in name order', async () => {
    const nodes = await genericPlan(queryOf({ search: 'zebra', first: 20 }, null));
    const searchIndex = nodes.filter((n) => n['Index Name'] === 'products_search');
    expect(searchIndex.length).toBeGreaterThan(0);
    expect(searchIndex.every((n) => n['Actual Loops'] > 0)).toBe(true);
    for (const node of nodes.filter((n) => n['Index Name'] === 'products_name_id')) {
      expect(rowsRead(node)).toBeLessThan(PRODUCTS / 2);
    }
  });
});
