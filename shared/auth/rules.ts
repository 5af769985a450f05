// Permission rules shared by every subgraph. graphql-shield caches results by rule name, so
// each name is unique; `contextual` caching is right for rules that look only at the caller.
import { rule } from './shield.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { Identity } from './identity.ts';

export interface WithIdentity {
  readonly identity: Identity | null;
}

export const isSignedIn = rule('isSignedIn', { cache: 'contextual' })(
  (_parent: unknown, _args: unknown, ctx: WithIdentity) => (ctx.identity ? true : new UnauthenticatedError()),
);

export const isAdmin = rule('isAdmin', { cache: 'contextual' })((
  _parent: unknown,
  _args: unknown,
  ctx: WithIdentity,
) => {
  if (!ctx.identity) return new UnauthenticatedError();
  return ctx.identity.role === 'ADMIN' ? true : new ForbiddenError('Only administrators may do this');
});

/** Administrators, or the user whose id `ownerOf` reads from the parent object. */
export function isOwnerOrAdmin<P>(name: string, ownerOf: (parent: P) => string | null | undefined) {
  return rule(name, { cache: 'strict' })((parent: P, _args: unknown, ctx: WithIdentity) => {
    if (!ctx.identity) return new UnauthenticatedError();
    if (ctx.identity.role === 'ADMIN' || ownerOf(parent) === ctx.identity.userId) return true;
    return new ForbiddenError('You may only see your own data');
  });
}
