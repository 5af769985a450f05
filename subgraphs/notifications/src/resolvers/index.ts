// Thin: read arguments, call the domain, shape the answer.
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import { UnauthenticatedError } from '../../../../shared/errors.ts';
import type { NotificationsContext } from '../context.ts';
import type { Notification } from '../domain/entities.ts';
import { preferencesOf, setPreferences, userNotifications } from '../domain/queries.ts';

type User = { id: string };

export const resolvers = {
  DateTime,
  Mutation: {
    setNotificationPreferences: async (
      _: unknown,
      args: { input: { email: boolean } },
      ctx: NotificationsContext,
    ): Promise<User> => {
      if (!ctx.identity) throw new UnauthenticatedError();
      await setPreferences(ctx.em, ctx.identity.userId, args.input);
      return { id: ctx.identity.userId };
    },
  },
  User: {
    // Notifications does not own users; any id is a user as far as it is concerned.
    __resolveReference: (ref: User) => ({ id: ref.id }),
    notifications: (user: User, args: { first?: number; after?: string }, ctx: NotificationsContext) =>
      userNotifications(ctx.em, user.id, args.first, args.after),
    notificationPreferences: (user: User, _: unknown, ctx: NotificationsContext) =>
      preferencesOf(ctx.em, user.id),
  },
  Notification: {
    order: (notification: Notification) =>
      notification.orderId ? { __typename: 'Order', id: notification.orderId } : null,
  },
  NotificationConnection: {
    totalCount: (connection: { totalCount: number | (() => Promise<number>) }) =>
      typeof connection.totalCount === 'function' ? connection.totalCount() : connection.totalCount,
  },
};
