// Who may read and do what in the users subgraph. Deny is the fallback, so a new field is
// private until a rule here says otherwise.
import { allow, deny, rule } from '../../../shared/auth/shield.ts';
import { isOwnerOrAdmin, verdict } from '../../../shared/auth/rules.ts';
import * as policy from '../../../shared/auth/policies.ts';
import type { User } from './domain/user.entity.ts';
import type { UsersContext } from './context.ts';

// The caller, an administrator, or whoever has just signed in as this user (register/login
// answer with the account before the client holds its token).
const isSelfOrAdmin = rule('users.isSelfOrAdmin')((user: User, _args: unknown, ctx: UsersContext) => {
  if (ctx.session.signedInUserId === user.id) return true;
  return verdict(
    policy.isOwnerOrAdmin(ctx.identity, user.id),
    ctx.identity,
    'You may only see your own account',
  );
});

const mayLookUpUser = isOwnerOrAdmin<unknown, { id: string }>(
  'users.mayLookUpUser',
  (_parent, args) => args.id,
  'Only administrators may look up other users',
);

export const permissions = {
  Query: {
    '*': deny,
    _service: allow,
    // Entities are guarded field by field below, whoever asks for them.
    _entities: allow,
    me: allow,
    user: mayLookUpUser,
  },
  Mutation: { '*': deny, register: allow, login: allow },
  User: {
    '*': isSelfOrAdmin,
    id: allow,
    name: allow,
  },
  AuthPayload: allow,
  _Service: allow,
};
