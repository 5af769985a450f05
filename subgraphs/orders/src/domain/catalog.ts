// Orders' own copy of the catalogue, kept current by product events, so that placing an order
// prices it from local data. A product not seen yet (its event still in flight, or orders
// started after it was created) is read through from the products subgraph once and kept.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import { query } from '../../../../shared/db/statements.ts';
import type { CatalogEntry } from './pricing.ts';

export interface FetchedProduct extends CatalogEntry {
  readonly sku: string;
}
/** Looks products up at their source; returns only those that exist. */
export type ProductSource = (ids: readonly string[]) => Promise<FetchedProduct[]>;

/** Applies a product event unless the copy already has that revision or a newer one. */
export async function applyProductChanged(
  em: EntityManager,
  event: PayloadOf<'products.evt.product_changed'>,
): Promise<void> {
  await em.execute(
    `insert into product_copies (product_id, sku, name, price_cents, currency, active, revision)
     values (?, ?, ?, ?, ?, ?, ?)
     on conflict (product_id) do update set
       sku = excluded.sku, name = excluded.name, price_cents = excluded.price_cents,
       currency = excluded.currency, active = excluded.active, revision = excluded.revision
     where product_copies.revision < excluded.revision`,
    [event.productId, event.sku, event.name, event.priceCents, event.currency, event.active, event.revision],
    'run',
  );
}

export async function loadCatalog(
  em: EntityManager,
  ids: readonly string[],
  source: ProductSource,
): Promise<Map<string, CatalogEntry>> {
  // Every placeOrder reads here: a prepared statement, not an ORM find (see statements.ts).
  const copies = await query<{
    product_id: string;
    name: string;
    price_cents: number;
    currency: string;
    active: boolean;
  }>(
    em,
    'select product_id, name, price_cents, currency, active from product_copies where product_id = any(?::uuid[])',
    [ids],
  );
  const catalog = new Map<string, CatalogEntry>(
    copies.map((c) => [
      c.product_id,
      {
        productId: c.product_id,
        name: c.name,
        priceCents: c.price_cents,
        currency: c.currency,
        active: c.active,
      },
    ]),
  );
  const missing = ids.filter((id) => !catalog.has(id));
  if (missing.length === 0) return catalog;
  const fetched = await source(missing);
  if (fetched.length === 0) return catalog;
  for (const product of fetched) catalog.set(product.productId, product);
  // Revision 0: the next product event, whatever its revision, replaces these copies.
  await em.execute(
    `insert into product_copies (product_id, sku, name, price_cents, currency, active, revision)
     values ${fetched.map(() => '(?, ?, ?, ?, ?, ?, 0)').join(', ')} on conflict (product_id) do nothing`,
    fetched.flatMap((p) => [p.productId, p.sku, p.name, p.priceCents, p.currency, p.active]),
    'run',
  );
  return catalog;
}
