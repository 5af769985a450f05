// Thin: read arguments, call the domain, shape the answer.
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import type { UsersContext } from '../context.ts';
import type { User } from '../domain/user.entity.ts';
import { authenticate, registerCustomer } from '../domain/user-service.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { assertOneCredentialField } from './credential-fields.ts';

async function signedIn(ctx: UsersContext, user: User) {
  const { token, expiresAt } = await ctx.tokens.issue(user);
  ctx.session.signedInUserId = user.id;
  return { token, expiresAt, user };
}

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    me: (_, __, ctx) => (ctx.identity ? ctx.users.load(ctx.identity.userId) : null),
    user: (_, args, ctx) => ctx.users.load(args.id),
  },
  Mutation: {
    register: async (_, args, ctx, info) => {
      assertOneCredentialField(info);
      return signedIn(ctx, await registerCustomer(ctx.em, args.input));
    },
    login: async (_, args, ctx, info) => {
      assertOneCredentialField(info);
      return signedIn(ctx, await authenticate(ctx.em, args.email, args.password));
    },
  },
  User: {
    __resolveReference: (ref, ctx) => ctx.users.load(ref.id),
  },
};
