// Who is asking. Tokens are JWTs issued by the users subgraph (EdDSA, key id in the header,
// public keys as JWKS). The gateway verifies them, and so does every subgraph: a subgraph
// trusts only what it can verify itself, never a bare header.
import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { IncomingHttpHeaders } from 'node:http';
import { UnauthenticatedError } from '../errors.ts';

export const ROLES = ['CUSTOMER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export const TOKEN_ISSUER = 'order-supergraph/users';
export const TOKEN_AUDIENCE = 'order-supergraph';
export const TOKEN_ALGORITHM = 'EdDSA';

export interface Identity {
  readonly userId: string;
  readonly role: Role;
  /** The verified bearer token, forwarded unchanged to subgraphs. */
  readonly token: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

export type TokenVerifier = (token: string) => Promise<Identity>;

export function createTokenVerifier(keys: JWTVerifyGetKey): TokenVerifier {
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: [TOKEN_ALGORITHM],
      });
      const role = payload.role;
      if (
        typeof payload.sub !== 'string' ||
        !ROLES.includes(role as Role) ||
        typeof payload.exp !== 'number'
      ) {
        throw new UnauthenticatedError('The token is not valid');
      }
      return { userId: payload.sub, role: role as Role, token, expiresAt: payload.exp };
    } catch (err) {
      if (err instanceof UnauthenticatedError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('The token has expired');
      if (err instanceof joseErrors.JOSEError) throw new UnauthenticatedError('The token is not valid');
      // The key set could not be fetched: that is our fault, not the client's.
      throw err;
    }
  };
}

/**
 * Least time between two fetches of the key set. A token with an unknown key id (a rotated-in
 * key, or an attacker's) makes the verifier fetch again once this has passed since the last
 * fetch; short enough for a key rotation, long enough that junk tokens cannot flood the users
 * subgraph with fetches. A rotated-in key waits longer than this before it signs
 * (subgraphs/users/src/domain/signing-keys.ts).
 */
export const JWKS_REFETCH_COOLDOWN_SECONDS = 5;

/** Verified tokens remembered by one verifier, at most (least recently used go first). */
export const VERIFIED_TOKENS_CACHED = 10_000;

/**
 * Remembers each token `verify` accepted until the token expires, so a client's token costs one
 * signature check (an EdDSA verification, the largest single cost of a subgraph request) per
 * verifier, not one per request; concurrent first uses of a token share one check.
 *
 * Why this is safe: a token's validity changes only at its `exp` (the verifier checks nothing
 * else that moves with time: no `nbf` is issued), and an entry is never used at or past that
 * second. Key rotation retires a key only after the last token it signed has expired
 * (subgraphs/users/src/domain/signing-keys.ts), so no cached token outlives its key. Only
 * accepted tokens enter, so only holders of valid tokens can fill the cache, and it is bounded.
 * Refused tokens are never remembered: each is checked again (and refused again).
 */
export function cachingTokenVerifier(
  verify: TokenVerifier,
  max: number = VERIFIED_TOKENS_CACHED,
  now: () => number = Date.now,
): TokenVerifier {
  const verified = new LRUCache<string, Identity>({ max });
  const pending = new Map<string, Promise<Identity>>();
  return async (token) => {
    const known = verified.get(token);
    if (known) {
      if (known.expiresAt * 1000 > now()) return known;
      verified.delete(token);
    }
    let check = pending.get(token);
    if (!check) {
      check = verify(token).finally(() => pending.delete(token));
      pending.set(token, check);
    }
    const identity = await check;
    if (identity.expiresAt * 1000 > now()) verified.set(token, identity);
    return identity;
  };
}

/**
 * Verifies against the users subgraph's published keys (fetched lazily, cached, refreshed on a
 * new key id), remembering accepted tokens until they expire (cachingTokenVerifier).
 */
export function createRemoteTokenVerifier(jwksUrl: string): TokenVerifier {
  return cachingTokenVerifier(
    createTokenVerifier(
      createRemoteJWKSet(new URL(jwksUrl), {
        cooldownDuration: JWKS_REFETCH_COOLDOWN_SECONDS * 1000,
        cacheMaxAge: 600_000,
      }),
    ),
  );
}

export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw new UnauthenticatedError('The Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Anonymous without a token; an invalid or expired token is refused rather than ignored. */
export async function identify(
  headers: IncomingHttpHeaders,
  verify: TokenVerifier,
): Promise<Identity | null> {
  const header = headers.authorization;
  const token = bearerToken(typeof header === 'string' || header === undefined ? header : header[0]);
  return token ? verify(token) : null;
}
