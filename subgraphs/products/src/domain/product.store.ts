// The products list's SQL, built from the entity (product.entity.ts) by Kysely like the saga's
// stores: keyset pagination over (name, id) and full-text search over the generated `search`
// column, which the entity does not map (so it is named in SQL here, and never selected). Each
// statement is compiled once per shape (which filters are set) and then only bound
// (shared/db/store.ts).
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type SelectQueryBuilder } from 'kysely';
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

const page = statement((db, p: PageValues) => {
  let q = filtered(db.selectFrom('products').select(COLUMNS), p.filter);
  if (p.after !== undefined) {
    const { name, id } = p.after;
    q = q.where((eb) => eb(eb.refTuple('name', 'id'), '>', eb.tuple(name, id)));
  }
  return q.orderBy('name').orderBy('id').limit(p.limit);
});

export async function findProductPage(em: EntityManager, query: ProductQuery): Promise<ProductPage> {
  const rows = await page(em, pageValues(query));
  return { products: rows.slice(0, query.first), hasNextPage: rows.length > query.first };
}

/** The SQL text and parameters of a page's statement, e.g. to EXPLAIN it. */
export function productPageStatement(em: EntityManager, query: ProductQuery) {
  return page.compiled(em, pageValues(query));
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
