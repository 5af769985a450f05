// What the GraphQL read path asks of the users table: users by id (`me`, `user`, and `_entities`,
// which the gateway sends for every order's customer). Built from the entity (user.entity.ts),
// compiled once and then only bound (shared/db/store.ts): MikroORM's `em.find` built the SQL,
// hydrated and registered every user in a unit of work on each request, for rows never changed.
import type { EntityManager } from '@mikro-orm/postgresql';
import { STORE_OPTIONS, storeStatements, type StoreTables } from '../../../../shared/db/store.ts';
import { User } from './user.entity.ts';

type Tables = StoreTables<typeof User>;

const statement = storeStatements([User], (em) => em.getKysely<Tables>(STORE_OPTIONS));

/** A user as the read path serves it: never its password hash (nor the events' revision). */
export type UserProfile = Omit<User, 'passwordHash' | 'revision'>;

/** The users of `ids` that exist, in no particular order. */
export function findUserProfiles(em: EntityManager, ids: readonly string[]): Promise<UserProfile[]> {
  return userProfiles(em, { ids });
}
const userProfiles = statement((db, p: { ids: readonly string[] }) =>
  db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'role', 'createdAt'])
    .where('id', '=', (eb) => eb.fn.any(eb.val(p.ids))),
);
