// Reading notifications and preferences for GraphQL: one user's notifications a page at a time.
import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../../../../shared/errors.ts';
import {
  decodeCreatedAtCursor,
  pageSize,
  toConnection,
  type Connection,
} from '../../../../shared/graphql/pagination.ts';
import { Notification, NotificationPreference } from './entities.ts';
import { findPreference, findUserNotificationPage, savePreference } from './notifications.store.ts';

export async function userNotifications(
  em: EntityManager,
  userId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Connection<Notification>> {
  const size = pageSize(first);
  const rows = await findUserNotificationPage(em, userId, size + 1, decodeCreatedAtCursor(after));
  return toConnection(
    rows,
    size,
    (n) => [n.createdAt.toISOString(), n.id],
    () => em.count(Notification, { userId }),
  );
}

/** Email is on unless the user turned it off. */
export async function preferencesOf(em: EntityManager, userId: string): Promise<{ email: boolean }> {
  const preference = await findPreference(em, userId);
  return { email: preference?.emailEnabled ?? true };
}

export async function setPreferences(
  em: EntityManager,
  userId: string,
  input: { email: boolean },
): Promise<void> {
  if (typeof input.email !== 'boolean') throw new BadUserInputError('email', 'email must be true or false');
  const preference: NotificationPreference = { userId, emailEnabled: input.email, updatedAt: new Date() };
  await savePreference(em, preference);
}
