// The notifications tables' SQL, built from the entities (entities.ts) by Kysely and compiled
// once per shape (shared/db/store.ts): the copies kept from other services' events, the
// notification records, their delivery queue and the preferences.
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type Insertable, type Kysely } from 'kysely';
import { withoutWaiting } from '../../../../shared/db/pipelined-client.ts';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import { Notification, NotificationPreference, PlacedOrder, ProductName, UserCopy } from './entities.ts';

type Tables = StoreTables<
  | typeof Notification
  | typeof NotificationPreference
  | typeof PlacedOrder
  | typeof ProductName
  | typeof UserCopy
>;

const statement = storeStatements(
  [Notification, NotificationPreference, PlacedOrder, ProductName, UserCopy],
  (em) => em.getKysely<Tables>(STORE_OPTIONS),
);

/**
 * Values written into the statements' text, not bound: each is the predicate of a partial index
 * (`notifications_due`, `user_copies_admins`), and a plan made for a bound value (the generic plan
 * PostgreSQL settles on for a prepared statement) cannot use that index: the queue's poll read
 * every notification ever written, the administrators' lookup every user.
 */
const PENDING = sql.lit<'PENDING'>('PENDING');
const ADMIN = sql.lit<'ADMIN'>('ADMIN');

export type UserCopyRow = Insertable<Tables['user_copies']>;
export type NewNotification = Insertable<Tables['notifications']>;

/** Keeps the user's copy, unless it already has this revision or a newer one. */
export async function upsertUserCopy(em: EntityManager, user: UserCopyRow): Promise<void> {
  await upsertUser(em, user);
}
const upsertUser = statement((db, user: UserCopyRow) =>
  db
    .insertInto('user_copies')
    .values(user)
    .onConflict((oc) =>
      oc
        .column('userId')
        .doUpdateSet(({ ref }) => ({
          email: ref('excluded.email'),
          name: ref('excluded.name'),
          role: ref('excluded.role'),
          revision: ref('excluded.revision'),
        }))
        .where('user_copies.revision', '<', ({ ref }) => ref('excluded.revision')),
    ),
);

export async function upsertProductName(
  em: EntityManager,
  product: { productId: string; name: string; revision: number },
): Promise<void> {
  await upsertProduct(em, product);
}
const upsertProduct = statement((db, product: { productId: string; name: string; revision: number }) =>
  db
    .insertInto('product_names')
    .values(product)
    .onConflict((oc) =>
      oc
        .column('productId')
        .doUpdateSet(({ ref }) => ({ name: ref('excluded.name'), revision: ref('excluded.revision') }))
        .where('product_names.revision', '<', ({ ref }) => ref('excluded.revision')),
    ),
);

/** The order as placed; a second PENDING event for it changes nothing. */
export async function insertPlacedOrder(em: EntityManager, order: PlacedOrder): Promise<void> {
  // The items go as JSON text, cast by the statement: the entity's JSON type would convert the
  // list while the statement is built, so a compiled statement takes it already serialised.
  // Nobody reads its result: in the consumer's transaction it travels with the next statement.
  const { items, ...columns } = order;
  await withoutWaiting(() => insertPlaced(em, { ...columns, itemsJson: JSON.stringify(items) }));
}
const insertPlaced = statement((db, o: Omit<PlacedOrder, 'items'> & { itemsJson: string }) =>
  db
    .insertInto('placed_orders')
    .values({
      orderId: o.orderId,
      customerId: o.customerId,
      amountCents: o.amountCents,
      currency: o.currency,
      items: sql<PlacedOrder['items']>`cast(${o.itemsJson} as jsonb)`,
    })
    .onConflict((oc) => oc.column('orderId').doNothing()),
);

export async function findPlacedOrder(em: EntityManager, orderId: string): Promise<PlacedOrder | null> {
  return (await findPlaced(em, { orderId }))[0] ?? null;
}
const findPlaced = statement((db, p: { orderId: string }) =>
  db.selectFrom('placed_orders').selectAll().where('orderId', '=', p.orderId),
);

export function findPlacedOrders(em: EntityManager, orderIds: readonly string[]): Promise<PlacedOrder[]> {
  return findPlacedRows(em, { orderIds });
}
const findPlacedRows = statement((db, p: { orderIds: readonly string[] }) =>
  db
    .selectFrom('placed_orders')
    .selectAll()
    .where('orderId', '=', (eb) => eb.fn.any(eb.val(p.orderIds))),
);

/**
 * A user copy as notifications writes to it: with whether email is on (a user who never set a
 * preference has it on). One statement reads both, so recording needs no separate opt-out read.
 */
export type Recipient = UserCopy & { readonly emailEnabled: boolean };

function toRecipient(row: UserCopy & { emailEnabled: boolean | null }): Recipient {
  return { ...row, emailEnabled: row.emailEnabled ?? true };
}

/** User copies joined to their preference, if any. */
const recipients = (db: Kysely<Tables>) =>
  db
    .selectFrom('user_copies as u')
    .leftJoin('notification_preferences as p', 'p.userId', 'u.userId')
    .selectAll('u')
    .select('p.emailEnabled');

export async function findRecipients(em: EntityManager, userIds: readonly string[]): Promise<Recipient[]> {
  return (await findRecipientRows(em, { userIds })).map(toRecipient);
}
const findRecipientRows = statement((db, p: { userIds: readonly string[] }) =>
  recipients(db).where('u.userId', '=', (eb) => eb.fn.any(eb.val(p.userIds))),
);

export async function findRecipient(em: EntityManager, userId: string): Promise<Recipient | null> {
  const row = (await findRecipientRow(em, { userId }))[0];
  return row ? toRecipient(row) : null;
}
const findRecipientRow = statement((db, p: { userId: string }) =>
  recipients(db).where('u.userId', '=', p.userId),
);

export async function findAdmins(em: EntityManager): Promise<Recipient[]> {
  return (await findAdminRows(em, {})).map(toRecipient);
}
const findAdminRows = statement((db, _: Record<string, never>) =>
  recipients(db).where('u.role', '=', ADMIN).orderBy('u.userId'),
);

export async function findProductName(em: EntityManager, productId: string): Promise<string | null> {
  return (await findProduct(em, { productId }))[0]?.name ?? null;
}
const findProduct = statement((db, p: { productId: string }) =>
  db.selectFrom('product_names').select('name').where('productId', '=', p.productId),
);

export async function savePreference(em: EntityManager, preference: NotificationPreference): Promise<void> {
  await upsertPreference(em, preference);
}
const upsertPreference = statement((db, preference: NotificationPreference) =>
  db
    .insertInto('notification_preferences')
    .values(preference)
    .onConflict((oc) =>
      oc.column('userId').doUpdateSet(({ ref }) => ({
        emailEnabled: ref('excluded.emailEnabled'),
        updatedAt: ref('excluded.updatedAt'),
      })),
    ),
);

export async function findPreference(
  em: EntityManager,
  userId: string,
): Promise<NotificationPreference | null> {
  return (await findPreferenceRow(em, { userId }))[0] ?? null;
}
const findPreferenceRow = statement((db, p: { userId: string }) =>
  db.selectFrom('notification_preferences').selectAll().where('userId', '=', p.userId),
);

/** Records notifications; one whose dedupe key is there already is left as it is. */
export async function insertNotifications(
  em: EntityManager,
  rows: readonly NewNotification[],
): Promise<void> {
  if (rows.length === 0) return;
  // One shape per number of rows: an event makes one, or one per administrator. Nobody reads
  // its result: in the consumer's transaction it travels with the next statement.
  await withoutWaiting(() => insertRows(em, rows));
}
const insertRows = statement((db, rows: readonly NewNotification[]) =>
  db
    .insertInto('notifications')
    .values(rows as NewNotification[])
    .onConflict((oc) => oc.column('dedupeKey').doNothing()),
);

/**
 * Up to `limit` PENDING notifications due by `now`, locked for this transaction; those another
 * process is sending are skipped, so instances never send the same one at once.
 */
export function claimDue(em: EntityManager, now: Date, limit: number): Promise<Notification[]> {
  return claimRows(em, { now, limit });
}
const claimRows = statement((db, p: { now: Date; limit: number }) =>
  db
    .selectFrom('notifications')
    .selectAll()
    .where('status', '=', PENDING)
    .where('nextAttemptAt', '<=', p.now)
    .orderBy('nextAttemptAt')
    .limit(p.limit)
    .forUpdate()
    .skipLocked(),
);

/**
 * When the next PENDING notification that nobody is sending is due, if any is. Rows locked by a
 * batch being sent are skipped: they are not this caller's to wait for, and counting them would
 * have it look again at once, over and over, for as long as that batch takes.
 */
export async function nextDue(em: EntityManager): Promise<Date | null> {
  return (await nextDueRow(em, {}))[0]?.nextAttemptAt ?? null;
}
const nextDueRow = statement((db, _: Record<string, never>) =>
  db
    .selectFrom('notifications')
    .select('nextAttemptAt')
    .where('status', '=', PENDING)
    .orderBy('nextAttemptAt')
    .limit(1)
    .forUpdate()
    .skipLocked(),
);

/** Where a page of a user's notifications starts: after this (createdAt, id), newest first. */
export interface NotificationPageCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** Up to `limit` of the user's notifications, newest first, after `after` if given. */
export function findUserNotificationPage(
  em: EntityManager,
  userId: string,
  limit: number,
  after: NotificationPageCursor | null,
): Promise<Notification[]> {
  return after
    ? userPageAfter(em, { userId, limit, createdAt: after.createdAt, id: after.id })
    : userPage(em, { userId, limit });
}
// Two statements rather than one with an optional condition: each is compiled once. The cursor
// is a row comparison, which the (user_id, created_at desc, id desc) index takes as its range;
// written as `created_at < $2 or (created_at = $2 and id < $3)` it was a filter over every
// newer notification, so a page cost as much as all the pages before it.
const userPage = statement((db, p: { userId: string; limit: number }) =>
  db
    .selectFrom('notifications')
    .selectAll()
    .where('userId', '=', p.userId)
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(p.limit),
);
const userPageAfter = statement((db, p: { userId: string; limit: number; createdAt: Date; id: string }) =>
  db
    .selectFrom('notifications')
    .selectAll()
    .where('userId', '=', p.userId)
    .where((eb) => eb(eb.refTuple('createdAt', 'id'), '<', eb.tuple(p.createdAt, p.id)))
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(p.limit),
);

/**
 * The SQL text and parameters of the statements whose cost an index must bound, whatever the
 * table holds (the delivery queue's two and the administrators', through partial indexes; a
 * page of a user's notifications after a cursor), e.g. to EXPLAIN them.
 */
export function indexedStatements(em: EntityManager, now: Date, limit: number) {
  return {
    claim: claimRows.compiled(em, { now, limit }),
    nextDue: nextDueRow.compiled(em, {}),
    admins: findAdminRows.compiled(em, {}),
    pageAfter: userPageAfter.compiled(em, {
      userId: '00000000-0000-4000-8000-000000000001',
      limit,
      createdAt: now,
      id: '00000000-0000-4000-8000-000000000002',
    }),
  };
}

export interface DeliveryOutcome {
  readonly id: string;
  readonly status: 'PENDING' | 'SENT' | 'FAILED';
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly sentAt: Date | null;
  readonly failureReason: string | null;
}

export async function saveOutcome(em: EntityManager, outcome: DeliveryOutcome): Promise<void> {
  // Nobody reads its result: the batch's updates travel together, with its COMMIT.
  await withoutWaiting(() => updateOutcome(em, outcome));
}
const updateOutcome = statement((db, o: DeliveryOutcome) =>
  db
    .updateTable('notifications')
    .set({
      status: o.status,
      attempts: o.attempts,
      nextAttemptAt: o.nextAttemptAt,
      sentAt: o.sentAt,
      failureReason: o.failureReason,
    })
    .where('id', '=', o.id),
);
