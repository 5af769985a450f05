// The products list's SQL: keyset pagination and full-text search over a generated `search`
// column the entity does not map. Written by hand for now (unlike the saga's stores, which
// Kysely builds from the entities); values are bound, never pasted into the text.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Product } from './product.entity.ts';
import type { ProductPage, ProductQuery } from './catalogue.ts';

/** SQL conditions and their parameters for a query's filter (without the cursor). */
function filterConditions(query: ProductQuery): { conditions: string[]; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (!query.includeInactive) conditions.push('active');
  if (query.tsquery !== null) {
    conditions.push(`search @@ to_tsquery('simple', ?)`);
    params.push(query.tsquery);
  }
  if (query.category !== null) {
    conditions.push('category = ?');
    params.push(query.category);
  }
  if (query.minPriceCents !== null) {
    conditions.push('price_cents >= ?');
    params.push(query.minPriceCents);
  }
  if (query.maxPriceCents !== null) {
    conditions.push('price_cents <= ?');
    params.push(query.maxPriceCents);
  }
  return { conditions, params };
}

const COLUMNS =
  'id, sku, name, description, category, price_cents, currency, active, version, created_at, updated_at';

/** The SQL of a page: keyset pagination over (name, id), one more row than asked to see if more follow. */
export function productPageSql(query: ProductQuery): { sql: string; params: unknown[] } {
  const { conditions, params } = filterConditions(query);
  if (query.after) {
    conditions.push('(name, id) > (?, ?::uuid)');
    params.push(query.after.name, query.after.id);
  }
  const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
  params.push(query.first + 1);
  return { sql: `select ${COLUMNS} from products ${where} order by name, id limit ?`, params };
}

export async function findProductPage(em: EntityManager, query: ProductQuery): Promise<ProductPage> {
  const { sql, params } = productPageSql(query);
  const rows = await em.execute<Record<string, unknown>[]>(sql, params);
  const products = rows.slice(0, query.first).map((row) => em.map(Product, row));
  return { products, hasNextPage: rows.length > query.first };
}

export async function countProducts(em: EntityManager, query: ProductQuery): Promise<number> {
  const { conditions, params } = filterConditions(query);
  const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
  const [row] = await em.execute<{ count: string }[]>(
    `select count(*) as count from products ${where}`,
    params,
  );
  return Number(row?.count ?? 0);
}
