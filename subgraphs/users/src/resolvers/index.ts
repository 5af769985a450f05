// Thin: read arguments, call the domain, shape the answer.
import type { GraphQLResolveInfo } from 'graphql';
import { DateTime } from '../../../../shared/graphql/scalars.ts';
import type { UsersContext } from '../context.ts';
import type { User } from '../domain/user.entity.ts';
import { authenticate, registerCustomer, type RegisterInput } from '../domain/user-service.ts';
import { assertOneCredentialField } from './credential-fields.ts';

async function signedIn(ctx: UsersContext, user: User) {
  const { token, expiresAt } = await ctx.tokens.issue(user);
  ctx.session.signedInUserId = user.id;
  return { token, expiresAt, user };
}

export const resolvers = {
  DateTime,
  Query: {
    me: (_: unknown, __: unknown, ctx: UsersContext) =>
      ctx.identity ? ctx.users.load(ctx.identity.userId) : null,
    user: (_: unknown, args: { id: string }, ctx: UsersContext) => ctx.users.load(args.id),
  },
  Mutation: {
    register: async (
      _: unknown,
      args: { input: RegisterInput },
      ctx: UsersContext,
      info: GraphQLResolveInfo,
    ) => {
      assertOneCredentialField(info);
      return signedIn(ctx, await registerCustomer(ctx.em, args.input));
    },
    login: async (
      _: unknown,
      args: { email: string; password: string },
      ctx: UsersContext,
      info: GraphQLResolveInfo,
    ) => {
      assertOneCredentialField(info);
      return signedIn(ctx, await authenticate(ctx.em, args.email, args.password));
    },
  },
  User: {
    __resolveReference: (ref: { id: string }, ctx: UsersContext) => ctx.users.load(ref.id),
  },
};
