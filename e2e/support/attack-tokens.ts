// What an attacker would try instead of a real token, built against one test system: its users
// database holds the real signing key, so "expired" and "wrong issuer/audience" tokens carry a
// valid signature and fail only for the reason they are named after. Plus direct requests to a
// subgraph, with or without a service token, as something inside the network would send them.
import {
  SignJWT,
  UnsecuredJWT,
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import pg from 'pg';
import { SUBGRAPHS } from '../../scripts/lib/services.ts';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../shared/auth/identity.ts';
import { SERVICE_TOKEN_HEADER, createServiceTokenSigner } from '../../shared/auth/service-identity.ts';
import type { GraphQLResponse, TestSystem } from '../../test/support/system.ts';

/** The newest signing key of the system's users database (private and public JWK). */
export async function realSigningKey(system: TestSystem): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const url = new URL(system.databaseUrl);
  url.pathname = `/${system.id}_users`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ private_jwk: JWK; public_jwk: JWK }>(
      'select private_jwk, public_jwk from signing_keys order by created_at desc limit 1',
    );
    return { privateJwk: rows[0]!.private_jwk, publicJwk: rows[0]!.public_jwk };
  } finally {
    await client.end();
  }
}

interface Claims {
  readonly sub: string;
  readonly role: string;
  readonly iss?: string;
  readonly aud?: string;
  readonly exp?: number;
}

async function signEdDSA(jwk: JWK, kid: string, claims: Claims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(claims.iss ?? TOKEN_ISSUER)
    .setAudience(claims.aud ?? TOKEN_AUDIENCE)
    .setIssuedAt(now - 60)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(await importJWK(jwk, 'EdDSA'));
}

/**
 * Tokens that must all be refused with UNAUTHENTICATED, each claiming to be `victim` with the
 * ADMIN role. `genuine` is a real token of `victim` (a customer), used for tampering.
 */
export async function attackTokens(
  system: TestSystem,
  victim: { id: string; token: string },
): Promise<Record<string, string>> {
  const { privateJwk, publicJwk } = await realSigningKey(system);
  const kid = decodeProtectedHeader(victim.token).kid!;
  const admin = { sub: victim.id, role: 'ADMIN' };
  const own = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const [header, , signature] = victim.token.split('.');
  const tamperedPayload = base64url.encode(JSON.stringify({ ...decodeJwt(victim.token), role: 'ADMIN' }));
  const now = Math.floor(Date.now() / 1000);
  return {
    // Signed with a key of the attacker's own, under the real key id.
    forged: await signEdDSA(await exportJWK(own.privateKey), kid, admin),
    // A real customer token whose payload was changed to ADMIN, the signature kept.
    tampered: `${header}.${tamperedPayload}.${signature}`,
    // The real key, but expired.
    expired: await signEdDSA(privateJwk, kid, { sub: victim.id, role: 'CUSTOMER', exp: now - 120 }),
    // Unsigned.
    algNone: new UnsecuredJWT({ role: 'ADMIN' })
      .setSubject(victim.id)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setExpirationTime(now + 600)
      .encode(),
    // HMAC keyed with the public key: the classic algorithm confusion.
    hs256WithPublicKey: await new SignJWT({ role: 'ADMIN' })
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
      .setSubject(victim.id)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setExpirationTime(now + 600)
      .sign(base64url.decode(publicJwk.x!)),
    // The real key, another issuer or audience.
    otherIssuer: await signEdDSA(privateJwk, kid, { ...admin, iss: 'someone-else' }),
    otherAudience: await signEdDSA(privateJwk, kid, { ...admin, aud: 'another-system' }),
  };
}

/** A token signed with the system's real key: what only the users subgraph should be able to issue. */
export async function genuineAdminToken(system: TestSystem, userId: string): Promise<string> {
  const { privateJwk, publicJwk } = await realSigningKey(system);
  return signEdDSA(privateJwk, publicJwk.kid!, { sub: userId, role: 'ADMIN' });
}

export interface DirectOptions {
  /** The user's bearer token. */
  readonly token?: string;
  /** Sign a service token as this caller (default: none is sent). */
  readonly asService?: string;
  /** The secret to sign it with (default: the system's own). */
  readonly secret?: string;
  /** The audience to sign it for (default: the subgraph called). */
  readonly audience?: string;
}

/** POSTs to a subgraph directly, bypassing the gateway; answers the status and parsed body. */
export async function directRequest<T = Record<string, unknown>>(
  system: TestSystem,
  subgraph: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: DirectOptions = {},
): Promise<{ status: number; body: GraphQLResponse<T> }> {
  const url = system.urls.subgraphs[subgraph as keyof typeof system.urls.subgraphs]!;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.asService) {
    const secret = options.secret ?? system.env.SERVICE_SECRET;
    if (!secret) throw new Error('the test system has no SERVICE_SECRET');
    headers[SERVICE_TOKEN_HEADER] = await createServiceTokenSigner(
      secret,
      options.asService,
    )(options.audience ?? subgraph);
  }
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  let body: GraphQLResponse<T>;
  try {
    body = JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    throw new Error(
      `${subgraph} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`,
    );
  }
  return { status: response.status, body };
}

export const SUBGRAPH_NAMES = SUBGRAPHS;
