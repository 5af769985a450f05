// Products by id for the GraphQL read path (`product`, and `_entities`, which the gateway sends
// for every order line and catalogue entry). Built from the entity (product.entity.ts), compiled
// once and then only bound (shared/db/store.ts): MikroORM's `em.find` built the SQL, hydrated and
// registered every product in a unit of work on each request, for rows never changed.
import type { EntityManager } from '@mikro-orm/postgresql';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import { Product } from './product.entity.ts';

type Tables = StoreTables<typeof Product>;

const statement = storeStatements([Product], (em) => em.getKysely<Tables>(STORE_OPTIONS));

/** The products of `ids` that exist, in no particular order. */
export function findProductsByIds(em: EntityManager, ids: readonly string[]): Promise<Product[]> {
  return productsByIds(em, { ids });
}
const productsByIds = statement((db, p: { ids: readonly string[] }) =>
  db
    .selectFrom('products')
    .selectAll()
    .where('id', '=', (eb) => eb.fn.any(eb.val(p.ids))),
);
