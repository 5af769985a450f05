// Payments by id for the GraphQL read path (`payment`, and `_entities` for Payment). Built from
// the entity (payment.entity.ts), compiled once and then only bound (shared/db/store.ts), as the
// saga's statements in payment.store.ts, whose `findPaymentsOfOrders` serves `Order.payment`.
import type { EntityManager } from '@mikro-orm/postgresql';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import { Payment } from './payment.entity.ts';

type Tables = StoreTables<typeof Payment>;

const statement = storeStatements([Payment], (em) => em.getKysely<Tables>(STORE_OPTIONS));

/** The payments of `ids` that exist, in no particular order. */
export function findPaymentsByIds(em: EntityManager, ids: readonly string[]): Promise<Payment[]> {
  return paymentsByIds(em, { ids });
}
const paymentsByIds = statement((db, p: { ids: readonly string[] }) =>
  db
    .selectFrom('payments')
    .selectAll()
    .where('id', '=', (eb) => eb.fn.any(eb.val(p.ids))),
);
