// Service identity: how one process of the system proves to another that it is a service of the
// system (the gateway calling a subgraph, orders reading products), whoever the user is.
//
// One mechanism for every internal call: every process holds the same SERVICE_SECRET and signs,
// per target, a short-lived HS256 JWT (`iss` = this system's services, `sub` = the calling
// service, `aud` = the target service, `exp` a minute away, a `jti`), sent in the
// `x-service-token` header. The target verifies it with the same secret. The user's bearer token
// still travels in `Authorization` and is verified as before: the service token says the caller
// is a service, the user token says on whose behalf.
//
// Why a shared secret and not a key pair per service: the services trust each other equally
// (any of them already holds database or NATS credentials), so per-service keys would add key
// distribution without adding a boundary. Why a JWT and not the bare secret in a header: the
// secret itself never crosses the wire, a captured header is useless after `exp` and only at the
// service it was addressed to, and jose (already the user tokens' library) does the checking.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { UnauthenticatedError } from '../errors.ts';

export const SERVICE_TOKEN_HEADER = 'x-service-token';
export const SERVICE_TOKEN_ISSUER = 'order-supergraph/services';
const ALGORITHM = 'HS256';
/** Lifetime of one service token. Short: it only has to survive one internal call. */
export const SERVICE_TOKEN_TTL_SECONDS = 60;
/** A cached token is replaced once less than this is left, so no call carries one about to expire. */
const RENEW_BEFORE_SECONDS = 30;
/** Allowed clock difference between two machines of the system. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** A secret shorter than this is refused (HS256 wants at least 256 bits of key). */
export const MIN_SECRET_LENGTH = 32;

/** A verified calling service. */
export interface ServiceCaller {
  readonly service: string;
}

/** Signs service tokens for calls from `service` to the service named by `audience`. */
export type ServiceTokenSigner = (audience: string) => Promise<string>;
/** Verifies a service token addressed to this service; throws UnauthenticatedError. */
export type ServiceTokenVerifier = (token: string) => Promise<ServiceCaller>;

const encoder = new TextEncoder();

/**
 * Why a secret is not acceptable, or undefined when it is. Refuses short secrets and ones that
 * are obviously not random (few distinct characters, or the words of a placeholder).
 */
export function weakSecretReason(secret: string): string | undefined {
  if (secret.length < MIN_SECRET_LENGTH) return `it must be at least ${MIN_SECRET_LENGTH} characters`;
  if (new Set(secret).size < 10) return 'it has too few distinct characters to be random';
  if (/secret|password|changeme|change-me|example|development|default/i.test(secret)) {
    return 'it looks like a placeholder, not a random value';
  }
  return undefined;
}

/** A random secret, e.g. for `npm start` to hand every process of one run. */
export function generateServiceSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A signer for `service`. Tokens are cached per audience and reused until half their lifetime is
 * left: signing is cheap, but the gateway makes several subgraph calls per request.
 */
export function createServiceTokenSigner(secret: string, service: string): ServiceTokenSigner {
  const key = encoder.encode(secret);
  const cache = new Map<string, { token: string; renewAt: number }>();
  return async (audience) => {
    const now = Math.floor(Date.now() / 1000);
    const cached = cache.get(audience);
    if (cached && cached.renewAt > now) return cached.token;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(SERVICE_TOKEN_ISSUER)
      .setSubject(service)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + SERVICE_TOKEN_TTL_SECONDS)
      .setJti(randomUUID())
      .sign(key);
    // The audiences are the system's own service names: the cache holds a handful of entries.
    cache.set(audience, { token, renewAt: now + SERVICE_TOKEN_TTL_SECONDS - RENEW_BEFORE_SECONDS });
    return token;
  };
}

/** Verified tokens kept, at most; only valid tokens enter, so only secret holders can fill it. */
const VERIFIED_CACHE_SIZE = 64;

/**
 * A verifier of tokens addressed to `service`. A caller reuses its token for half a minute, so a
 * token verified once is remembered until it expires: the HMAC is then checked once per token,
 * not once per request.
 */
export function createServiceTokenVerifier(secret: string, service: string): ServiceTokenVerifier {
  const key = encoder.encode(secret);
  const verified = new Map<string, { caller: ServiceCaller; expiresAtMs: number }>();
  return async (token) => {
    const known = verified.get(token);
    if (known && known.expiresAtMs > Date.now()) return known.caller;
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALGORITHM],
        issuer: SERVICE_TOKEN_ISSUER,
        audience: service,
        requiredClaims: ['exp', 'iat', 'sub'],
        // A token that claims a longer life than any signer gives is not one of ours.
        maxTokenAge: SERVICE_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
        throw new UnauthenticatedError('The service token is not valid');
      }
      const caller = { service: payload.sub };
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
      // Forgotten at whichever comes first: its expiry or the end of its allowed age.
      const until = Math.min(payload.exp!, payload.iat! + SERVICE_TOKEN_TTL_SECONDS) * 1000;
      verified.set(token, { caller, expiresAtMs: until });
      return caller;
    } catch (err) {
      if (err instanceof UnauthenticatedError) throw err;
      if (err instanceof joseErrors.JOSEError) {
        throw new UnauthenticatedError('The service token is not valid');
      }
      throw err;
    }
  };
}

/** The service token of a request, if it carries exactly one. */
export function serviceTokenOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers[SERVICE_TOKEN_HEADER];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Who is calling, by the service token: the caller, or UnauthenticatedError when the token is
 * missing or invalid. Without a verifier (no secret configured: only outside production, for
 * in-process tests and a bare `node main.ts`), every request is let through as no service.
 */
export async function identifyService(
  headers: IncomingHttpHeaders,
  verify: ServiceTokenVerifier | undefined,
): Promise<ServiceCaller | null> {
  if (!verify) return null;
  const token = serviceTokenOf(headers);
  if (!token) throw new UnauthenticatedError('Only services of this system may call it directly');
  return verify(token);
}

/** The headers of one call to `audience`: `{}` when no secret is configured. */
export type ServiceHeaders = (audience: string) => Promise<Record<string, string>>;

/** What every internal caller uses to name itself to the service it calls. */
export function createServiceHeaders(secret: string | undefined, service: string): ServiceHeaders {
  if (!secret) return async () => ({});
  const sign = createServiceTokenSigner(secret, service);
  return async (audience) => ({ [SERVICE_TOKEN_HEADER]: await sign(audience) });
}
