// The payments tables' SQL, all of it built from the entities (payment.entity.ts,
// payment-event.entity.ts) by Kysely: every saga step runs a payment command, and the ORM's
// finds, hydration and change-set computation were a large part of the service's CPU under
// load. Rows come back typed as the entities are; a column added to an entity is known here
// without another edit.
//
// Each statement is compiled once per shape and then only bound (shared/db/store.ts).
//
// Writes whose result nobody reads go through `withoutWaiting`: in a transaction they travel with
// the next statement, in order (shared/db/pipelined-client.ts).
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type Insertable } from 'kysely';
import { withoutWaiting } from '../../../../shared/db/pipelined-client.ts';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import { Payment } from './payment.entity.ts';
import { PaymentEvent } from './payment-event.entity.ts';

type Tables = StoreTables<typeof Payment | typeof PaymentEvent>;

const statement = storeStatements([Payment, PaymentEvent], (em) => em.getKysely<Tables>(STORE_OPTIONS));

export type NewPaymentEvent = Insertable<Tables['payment_events']>;

/**
 * Takes a transaction-scoped advisory lock on each key, in key order (so two transactions taking
 * overlapping sets never wait on each other in a cycle). Nobody reads the result.
 */
export async function lockKeys(em: EntityManager, keys: readonly string[]): Promise<void> {
  await withoutWaiting(() => lock(em, { keys: [...keys].sort() }));
}
const lock = statement(
  (_db, p: { keys: readonly string[] }) => sql`select pg_advisory_xact_lock(hashtextextended(k, 0))
    from (select k from unnest(${p.keys}::text[]) k order by k) ordered`,
);

export function findPaymentsOfOrders(em: EntityManager, orderIds: readonly string[]): Promise<Payment[]> {
  return findPayments(em, { orderIds });
}
const findPayments = statement((db, p: { orderIds: readonly string[] }) =>
  db
    .selectFrom('payments')
    .selectAll()
    .where('orderId', '=', (eb) => eb.fn.any(eb.val(p.orderIds))),
);

export async function findPaymentOfOrder(em: EntityManager, orderId: string): Promise<Payment | undefined> {
  const [row] = await findPayment(em, { orderId });
  return row;
}
const findPayment = statement((db, p: { orderId: string }) =>
  db.selectFrom('payments').selectAll().where('orderId', '=', p.orderId),
);

export async function insertPayment(em: EntityManager, payment: Payment): Promise<void> {
  await withoutWaiting(() => insertPaymentRow(em, payment));
}
const insertPaymentRow = statement((db, payment: Payment) => db.insertInto('payments').values(payment));

/** Writes what a command may change of a payment (its row is held under the order's command lock). */
export async function updatePayment(em: EntityManager, payment: Payment): Promise<void> {
  await withoutWaiting(() => updatePaymentRow(em, payment));
}
const updatePaymentRow = statement((db, payment: Payment) => {
  const { id, orderId: _orderId, createdAt: _createdAt, ...changed } = payment;
  return db.updateTable('payments').set(changed).where('id', '=', id);
});

export async function insertPaymentEvent(em: EntityManager, event: NewPaymentEvent): Promise<void> {
  await withoutWaiting(() => insertEvent(em, event));
}
const insertEvent = statement((db, event: NewPaymentEvent) => db.insertInto('payment_events').values(event));
