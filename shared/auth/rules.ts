// The graphql-shield rules of every subgraph, each built from a named policy (policies.ts), so a
// rule and a domain check that guard the same thing cannot drift apart. graphql-shield caches
// results by rule name, so each name is unique; `contextual` caching is right for rules that
// look only at the caller.
import { rule, type RuleResult } from './shield.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import * as policy from './policies.ts';
import type { Identity } from './identity.ts';
import type { ServiceCaller } from './service-identity.ts';

export interface WithIdentity {
  readonly identity: Identity | null;
}

export interface WithCaller extends WithIdentity {
  readonly caller: ServiceCaller | null;
}

/**
 * A rule's answer for a policy's yes or no: allowed, else UNAUTHENTICATED for an anonymous caller
 * (signing in might help) and FORBIDDEN with `forbidden` for a signed-in one (it would not).
 */
export function verdict(allowed: boolean, identity: Identity | null, forbidden: string): RuleResult {
  if (allowed) return true;
  return identity ? new ForbiddenError(forbidden) : new UnauthenticatedError();
}

export const isSignedIn = rule('isSignedIn', { cache: 'contextual' })(
  (_parent: unknown, _args: unknown, ctx: WithIdentity) =>
    verdict(policy.isSignedIn(ctx.identity), ctx.identity, 'You must be signed in'),
);

export const isAdmin = rule('isAdmin', { cache: 'contextual' })(
  (_parent: unknown, _args: unknown, ctx: WithIdentity) =>
    verdict(policy.isAdmin(ctx.identity), ctx.identity, 'Only administrators may do this'),
);

/**
 * Administrators, or the user whose id `ownerOf` reads from the parent object or the field's
 * arguments (policy.isOwnerOrAdmin). Not cached: the check is two comparisons, while
 * graphql-shield's 'strict' cache would hash the whole parent (an entity with its collections)
 * with object-hash for every field it guards.
 */
export function isOwnerOrAdmin<P, A = unknown>(
  name: string,
  ownerOf: (parent: P, args: A) => string | null | undefined,
  forbidden = 'You may only see your own data',
) {
  return rule(name, { cache: 'no_cache' })((parent: P, args: A, ctx: WithIdentity) =>
    verdict(policy.isOwnerOrAdmin(ctx.identity, ownerOf(parent, args)), ctx.identity, forbidden),
  );
}

/**
 * A service of the system calling on its own behalf (policy.isServiceCall), one of `services`:
 * e.g. notifications reading an order it writes to a customer about. Combine it with `or` beside
 * the user rules. The gateway may not be named: it always calls for a client, and a client
 * without a token must stay anonymous.
 */
export function isServiceCall(name: string, services: readonly string[]) {
  if (services.includes('gateway')) {
    throw new Error(`${name}: the gateway calls on behalf of clients; it cannot be trusted as a service`);
  }
  return rule(name, { cache: 'contextual' })((_parent: unknown, _args: unknown, ctx: WithCaller) =>
    verdict(
      policy.isServiceCall(ctx.caller, ctx.identity, services),
      ctx.identity,
      'Only services may do this',
    ),
  );
}
