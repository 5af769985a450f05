// The products list's SQL, built from the entity (product.entity.ts) by Kysely like the saga's
// stores: keyset pagination over (name, id) and full-text search over the generated `search`
// column, which the entity does not map (so it is named in SQL here, and never selected); a page
// of a search has a statement of its own (searchPage), cheap however many products match. Each
// statement is compiled once per shape (which filters are set) and then only bound
// (shared/db/store.ts).
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import { Product } from './product.entity.ts';
import type { ProductPage, ProductQuery } from './catalogue.ts';

type Tables = StoreTables<typeof Product>;

const statement = storeStatements([Product], (em) => em.getKysely<Tables>(STORE_OPTIONS));

/** Every mapped column of the entity: `select *` would also read the unmapped `search` vector. */
const COLUMNS = Object.keys(Product.meta.properties) as readonly (keyof Tables['products'] & string)[];

/** A query's filter as statement values: an unset filter is undefined, so it leaves the SQL out. */
interface Filter {
  readonly activeOnly?: true;
  readonly tsquery?: string;
  readonly category?: string;
  readonly minPriceCents?: number;
  readonly maxPriceCents?: number;
}

function filterOf(query: ProductQuery): Filter {
  return {
    activeOnly: query.includeInactive ? undefined : true,
    tsquery: query.tsquery ?? undefined,
    category: query.category ?? undefined,
    minPriceCents: query.minPriceCents ?? undefined,
    maxPriceCents: query.maxPriceCents ?? undefined,
  };
}

function filtered<O>(
  q: SelectQueryBuilder<Tables, 'products', O>,
  f: Filter,
): SelectQueryBuilder<Tables, 'products', O> {
  if (f.activeOnly !== undefined) q = q.where('active', '=', f.activeOnly);
  if (f.tsquery !== undefined) q = q.where(sql<boolean>`search @@ to_tsquery('simple', ${f.tsquery})`);
  if (f.category !== undefined) q = q.where('category', '=', f.category);
  if (f.minPriceCents !== undefined) q = q.where('priceCents', '>=', f.minPriceCents);
  if (f.maxPriceCents !== undefined) q = q.where('priceCents', '<=', f.maxPriceCents);
  return q;
}

interface PageValues {
  readonly filter: Filter;
  readonly after?: { readonly name: string; readonly id: string };
  readonly limit: number;
}

function pageValues(query: ProductQuery): PageValues {
  // One more row than asked for tells whether more follow.
  return { filter: filterOf(query), after: query.after ?? undefined, limit: query.first + 1 };
}

type Products<O> = SelectQueryBuilder<Tables, 'products', O>;

/** The products after the cursor, if there is one. */
function afterCursor<O>(q: Products<O>, after: PageValues['after']): Products<O> {
  if (after === undefined) return q;
  const { name, id } = after;
  return q.where((eb) => eb(eb.refTuple('name', 'id'), '>', eb.tuple(name, id)));
}

const page = statement((db, p: PageValues) =>
  afterCursor(filtered(db.selectFrom('products').select(COLUMNS), p.filter), p.after)
    .orderBy('name')
    .orderBy('id')
    .limit(p.limit),
);

/**
 * How many products a search page reads in page order, at most, before it turns to the search
 * index. A search that matches many products fills its page from the first few of them and stops;
 * one that matches few reads all 500 first: 0.2–0.3 ms more than the search index alone takes on
 * the development machine. 1,000 doubled that, and only spared the searches that match 2–4 % of
 * the products (for pages of 20) a sort of their matches.
 */
const SCAN_ROWS = 500;

/**
 * The search, its tsquery parsed once (an InitPlan) rather than for every row a generic plan
 * filters by it (`to_tsquery('simple', $1)` inline is only folded into a constant in a custom plan).
 */
function searchMatches(tsquery: string) {
  return sql<boolean>`search @@ (select to_tsquery('simple', ${tsquery}))`;
}

/** Whether a product matches the filter, the category aside. */
function matchesFilter(eb: ExpressionBuilder<Tables, 'products'>, f: Filter & { readonly tsquery: string }) {
  const conditions: Expression<SqlBool>[] = [searchMatches(f.tsquery)];
  if (f.activeOnly !== undefined) conditions.push(eb('active', '=', f.activeOnly));
  if (f.minPriceCents !== undefined) conditions.push(eb('priceCents', '>=', f.minPriceCents));
  if (f.maxPriceCents !== undefined) conditions.push(eb('priceCents', '<=', f.maxPriceCents));
  return eb.and(conditions);
}

type SearchPageValues = PageValues & { readonly filter: { readonly tsquery: string } };

function isSearch(values: PageValues): values is SearchPageValues {
  return values.filter.tsquery !== undefined;
}

/**
 * A page of a search: the rows `page` would return with the search in its filter, without reading
 * every match when many products match. Left to itself PostgreSQL must guess how many match, and
 * a generic plan (a prepared statement's) always guesses few: it reads every match through the
 * search index and sorts them all for one page, or, planned the other way, walks the name index
 * past every product to find a few.
 *
 * `hits`: the page's matches among the first SCAN_ROWS products after the cursor in page order,
 * read through the name index (the category's, when the filter names one) until the page is full.
 * They are the page when they fill it, or when those were all the products there are (`decided`);
 * otherwise `rest` reads the matches through the search index and sorts them, as a plain query
 * does. Only one of the two returns rows, and the other is not run. LIMIT and OFFSET fence the
 * scan and the matches off from the ORDER BY above them, so the planner keeps each to its index.
 */
const searchPage = statement((db, p: SearchPageValues) => {
  const f = p.filter;
  const inCategory = <O>(q: Products<O>) =>
    f.category === undefined ? q : q.where('category', '=', f.category);
  const scanned = <O>(q: Products<O>) =>
    afterCursor(inCategory(q), p.after).orderBy('name').orderBy('id').limit(SCAN_ROWS);
  return db
    .with('hits', (db) =>
      db
        .selectFrom(
          scanned(
            db
              .selectFrom('products')
              .select(COLUMNS)
              .select((eb) => matchesFilter(eb, f).as('hit')),
          ).as('scan'),
        )
        .select(COLUMNS)
        .where((eb) => eb.ref('hit'))
        .orderBy('name')
        .orderBy('id')
        .limit(p.limit),
    )
    .with('decided', (db) =>
      db.selectNoFrom((eb) =>
        eb
          .or([
            eb(eb.selectFrom('hits').select(eb.fn.countAll().as('n')), '>=', p.limit),
            eb(
              eb
                .selectFrom(scanned(db.selectFrom('products').select((eb) => eb.lit(1).as('one'))).as('seen'))
                .select(eb.fn.countAll().as('n')),
              '<',
              SCAN_ROWS,
            ),
          ])
          .as('enough'),
      ),
    )
    .with('rest', (db) =>
      db
        .selectFrom(
          afterCursor(
            inCategory(
              db
                .selectFrom('products')
                .select(COLUMNS)
                .where((eb) => matchesFilter(eb, f)),
            ),
            p.after,
          )
            .offset(0)
            .as('matches'),
        )
        .select(COLUMNS)
        .where((eb) => eb.not(eb.selectFrom('decided').select('enough').$asScalar()))
        .orderBy('name')
        .orderBy('id')
        .limit(p.limit),
    )
    .selectFrom('hits')
    .selectAll()
    .where((eb) => eb.selectFrom('decided').select('enough').$asScalar())
    .unionAll((db) => db.selectFrom('rest').selectAll())
    .orderBy('name')
    .orderBy('id');
});

export async function findProductPage(em: EntityManager, query: ProductQuery): Promise<ProductPage> {
  const values = pageValues(query);
  const rows = await (isSearch(values) ? searchPage(em, values) : page(em, values));
  return { products: rows.slice(0, query.first), hasNextPage: rows.length > query.first };
}

/** The SQL text and parameters of a page's statement, e.g. to EXPLAIN it. */
export function productPageStatement(em: EntityManager, query: ProductQuery) {
  const values = pageValues(query);
  return isSearch(values) ? searchPage.compiled(em, values) : page.compiled(em, values);
}

const count = statement((db, f: Filter) =>
  filtered(db.selectFrom('products'), f).select((eb) => eb.fn.countAll<string>().as('count')),
);

/** Equal for queries that match the same products, whatever page they ask for. */
export function productFilterKey(query: ProductQuery): string {
  return JSON.stringify(filterOf(query));
}

export async function countProducts(em: EntityManager, query: ProductQuery): Promise<number> {
  const [row] = await count(em, filterOf(query));
  return Number(row?.count ?? 0);
}
