// The payments tables' SQL, all of it built from the entities (payment.entity.ts,
// payment-event.entity.ts) by Kysely: every saga step runs a payment command, and the ORM's
// finds, hydration and change-set computation were a large part of the service's CPU under
// load. Rows come back typed as the entities are; a column added to an entity is known here
// without another edit.
//
// Writes whose result nobody reads go through `withoutWaiting`: in a transaction they travel with
// the next statement, in order (shared/db/pipelined-client.ts).
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type Insertable } from 'kysely';
import { withoutWaiting } from '../../../../shared/db/pipelined-client.ts';
import { STORE_OPTIONS, StoreStatementLogging, type StoreTables } from '../../../../shared/db/store.ts';
import { Payment } from './payment.entity.ts';
import { PaymentEvent } from './payment-event.entity.ts';

type Tables = StoreTables<typeof Payment | typeof PaymentEvent>;

const db = (em: EntityManager) =>
  em.getKysely<Tables>(STORE_OPTIONS).withPlugin(new StoreStatementLogging(em));

export type NewPaymentEvent = Insertable<Tables['payment_events']>;

/**
 * Takes a transaction-scoped advisory lock on each key, in key order (so two transactions taking
 * overlapping sets never wait on each other in a cycle). Nobody reads the result.
 */
export async function lockKeys(em: EntityManager, keys: readonly string[]): Promise<void> {
  const sorted = [...keys].sort();
  await withoutWaiting(() =>
    sql`select pg_advisory_xact_lock(hashtextextended(k, 0))
          from (select k from unnest(${sorted}::text[]) k order by k) ordered`.execute(db(em)),
  );
}

export function findPaymentsOfOrders(em: EntityManager, orderIds: readonly string[]): Promise<Payment[]> {
  return db(em)
    .selectFrom('payments')
    .selectAll()
    .where('orderId', '=', (eb) => eb.fn.any(eb.val([...orderIds])))
    .execute();
}

export function findPaymentOfOrder(em: EntityManager, orderId: string): Promise<Payment | undefined> {
  return db(em).selectFrom('payments').selectAll().where('orderId', '=', orderId).executeTakeFirst();
}

export async function insertPayment(em: EntityManager, payment: Payment): Promise<void> {
  await withoutWaiting(() => db(em).insertInto('payments').values(payment).execute());
}

/** Writes what a command may change of a payment (its row is held under the order's command lock). */
export async function updatePayment(em: EntityManager, payment: Payment): Promise<void> {
  const { id, orderId: _orderId, createdAt: _createdAt, ...changed } = payment;
  await withoutWaiting(() => db(em).updateTable('payments').set(changed).where('id', '=', id).execute());
}

export async function insertPaymentEvent(em: EntityManager, event: NewPaymentEvent): Promise<void> {
  await withoutWaiting(() => db(em).insertInto('payment_events').values(event).execute());
}
