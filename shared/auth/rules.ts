// Permission rules shared by every subgraph. graphql-shield caches results by rule name, so
// each name is unique; `contextual` caching is right for rules that look only at the caller.
import { rule } from './shield.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { Identity } from './identity.ts';
import type { ServiceCaller } from './service-identity.ts';

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

/**
 * Administrators, or the user whose id `ownerOf` reads from the parent object. Not cached: the
 * check is two comparisons, while graphql-shield's 'strict' cache would hash the whole parent
 * (an entity with its collections) with object-hash for every field it guards.
 */
export function isOwnerOrAdmin<P>(name: string, ownerOf: (parent: P) => string | null | undefined) {
  return rule(name, { cache: 'no_cache' })((parent: P, _args: unknown, ctx: WithIdentity) => {
    if (!ctx.identity) return new UnauthenticatedError();
    if (ctx.identity.role === 'ADMIN' || ownerOf(parent) === ctx.identity.userId) return true;
    return new ForbiddenError('You may only see your own data');
  });
}

export interface WithCaller extends WithIdentity {
  readonly caller: ServiceCaller | null;
}

/**
 * A service of the system calling on its own behalf (a verified service token and no user
 * token), one of `services`: e.g. notifications reading an order it writes to a customer about.
 * Combine it with `or` beside the user rules. The gateway may not be named: it always calls for
 * a client, and a client without a token must stay anonymous.
 */
export function isServiceCall(name: string, services: readonly string[]) {
  if (services.includes('gateway')) {
    throw new Error(`${name}: the gateway calls on behalf of clients; it cannot be trusted as a service`);
  }
  return rule(name, { cache: 'contextual' })((_parent: unknown, _args: unknown, ctx: WithCaller) => {
    if (ctx.caller && !ctx.identity && services.includes(ctx.caller.service)) return true;
    return ctx.identity ? new ForbiddenError('Only services may do this') : new UnauthenticatedError();
  });
}
