// Who may do what, said once. Each policy is a pure yes/no over the caller (a verified Identity,
// or null when anonymous) and, where it matters, the id of the user who owns the resource.
// Every place that decides access uses these: the graphql-shield rules of every subgraph are
// built from them in rules.ts, domain code calls them directly (an order's visibility, a
// payment's), and so does the gateway (a subscription's rights). A change of policy is then a
// change here, and policies.test.ts says what each one allows.
import type { Identity } from './identity.ts';
import type { ServiceCaller } from './service-identity.ts';

/** Any verified user. */
export function isSignedIn(identity: Identity | null): identity is Identity {
  return identity !== null;
}

/** A verified user with the ADMIN role. */
export function isAdmin(identity: Identity | null): boolean {
  return identity?.role === 'ADMIN';
}

/**
 * An administrator, or the user whose id is `ownerId`: the owner of an order (its customer), of a
 * payment (its order's customer) or of an account (the user). A resource without an owner (null)
 * belongs to no user: only administrators pass.
 */
export function isOwnerOrAdmin(identity: Identity | null, ownerId: string | null | undefined): boolean {
  if (!identity) return false;
  return identity.role === 'ADMIN' || (ownerId != null && ownerId === identity.userId);
}

/**
 * A service of the system calling on its own behalf, one of `services`: a verified service token
 * (`caller`) and no user token. With a user token the service only relays that user, who is
 * judged by the user policies instead.
 */
export function isServiceCall(
  caller: ServiceCaller | null,
  identity: Identity | null,
  services: readonly string[],
): boolean {
  return caller !== null && identity === null && services.includes(caller.service);
}

/**
 * Callers whose rights over orders, payments and users are the same: every administrator, or
 * one user. Work done for one caller may be shared with another of the same scope (a
 * subscription's state, a batched read), never across scopes.
 */
export function rightsScope(identity: Identity): string {
  return isAdmin(identity) ? 'admin' : `user:${identity.userId}`;
}
