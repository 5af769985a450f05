// Thin: read arguments, call the domain, shape the answer.
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import { UnauthenticatedError } from '../../../../shared/errors.ts';
import { preferencesOf, setPreferences, userNotifications } from '../domain/queries.ts';
import type { Resolvers } from '../generated/graphql.ts';

export const resolvers: Resolvers = {
  DateTime,
  Mutation: {
    setNotificationPreferences: async (_, args, ctx) => {
      if (!ctx.identity) throw new UnauthenticatedError();
      await setPreferences(ctx.em, ctx.identity.userId, args.input);
      return { __typename: 'User', id: ctx.identity.userId };
    },
  },
  User: {
    // Notifications does not own users; any id is a user as far as it is concerned.
    __resolveReference: (ref) => ref,
    notifications: (user, args, ctx) => userNotifications(ctx.em, user.id, args.first, args.after),
    notificationPreferences: (user, _, ctx) => preferencesOf(ctx.em, user.id),
  },
  Notification: {
    order: (notification) =>
      notification.orderId ? { __typename: 'Order', id: notification.orderId } : null,
  },
  NotificationConnection: {
    totalCount: (connection) =>
      typeof connection.totalCount === 'function' ? connection.totalCount() : connection.totalCount,
  },
};
