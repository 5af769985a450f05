// Who may read and do what in the notifications subgraph. Deny is the fallback: a new field is
// private until a rule here says otherwise. A user's notifications and preferences are guarded
// on the User field itself, so reaching a user through `_entities` (as the gateway does for
// `me { notifications }`, or anyone calling the subgraph with another user's id) is checked the
// same way: the user itself or an administrator, FORBIDDEN for anyone else.
import { allow, deny } from '../../../shared/auth/shield.ts';
import { isOwnerOrAdmin, isSignedIn } from '../../../shared/auth/rules.ts';

const isSelfOrAdmin = isOwnerOrAdmin<{ id: string }>('notifications.isUserSelfOrAdmin', (user) => user.id);

export const permissions = {
  Query: {
    '*': deny,
    _service: allow,
    _entities: allow,
  },
  Mutation: {
    '*': deny,
    setNotificationPreferences: isSignedIn,
  },
  User: { '*': deny, id: allow, notifications: isSelfOrAdmin, notificationPreferences: isSelfOrAdmin },
  // Reachable only through User.notifications, which is guarded above.
  Notification: allow,
  NotificationConnection: allow,
  NotificationEdge: allow,
  NotificationPreferences: allow,
  PageInfo: allow,
  Order: allow,
  _Service: allow,
};
