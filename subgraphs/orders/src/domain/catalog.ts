// Orders' own copy of the catalogue, kept current by product events, so that placing an order
// prices it from local data. A product not seen yet (its event still in flight, or orders
// started after it was created) is read through from the products subgraph once and kept.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import { findProductCopies, insertMissingProductCopies, upsertProductCopy } from './order.store.ts';
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
  await upsertProductCopy(em, event);
}

export async function loadCatalog(
  em: EntityManager,
  ids: readonly string[],
  source: ProductSource,
): Promise<Map<string, CatalogEntry>> {
  const catalog = new Map<string, CatalogEntry>(
    (await findProductCopies(em, ids)).map((copy) => [copy.productId, copy]),
  );
  const missing = ids.filter((id) => !catalog.has(id));
  if (missing.length === 0) return catalog;
  const fetched = await source(missing);
  if (fetched.length === 0) return catalog;
  for (const product of fetched) catalog.set(product.productId, product);
  // Revision 0: the next product event, whatever its revision, replaces these copies.
  await insertMissingProductCopies(
    em,
    fetched.map((p) => ({
      productId: p.productId,
      sku: p.sku,
      name: p.name,
      priceCents: p.priceCents,
      currency: p.currency,
      active: p.active,
      revision: 0,
    })),
  );
  return catalog;
}
