// Issues access tokens and publishes the keys that verify them. The signing key lives in the
// database so that every instance of the users subgraph signs with keys the others publish.
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  TOKEN_ALGORITHM,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  createTokenVerifier,
  type Role,
  type TokenVerifier,
} from '../../../../shared/auth/identity.ts';
import { SigningKey } from './signing-key.entity.ts';

export interface TokenIssuer {
  issue(user: { id: string; role: Role }): Promise<{ token: string; expiresAt: Date }>;
  /** The public keys, as served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] };
  /** Verifies tokens with the keys in hand, without a round trip to ourselves. */
  verifier: TokenVerifier;
}

export async function loadTokenIssuer(em: EntityManager, ttlSeconds: number): Promise<TokenIssuer> {
  let keys = await em.find(SigningKey, {}, { orderBy: { createdAt: 'desc' } });
  if (keys.length === 0) {
    const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, {
      crv: 'Ed25519',
      extractable: true,
    });
    const kid = crypto.randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALGORITHM, use: 'sig' };
    // A twin instance starting at the same moment may insert its own key: both are published.
    await em.insert(SigningKey, {
      kid,
      privateJwk: await exportJWK(privateKey),
      publicJwk,
      createdAt: new Date(),
    });
    keys = await em.find(SigningKey, {}, { orderBy: { createdAt: 'desc' } });
  }
  const current = keys[0]!;
  const signingKey = await importJWK(current.privateJwk as JWK, TOKEN_ALGORITHM);
  const publicKeys = keys.map((k) => k.publicJwk as JWK);
  const verifyKeys = new Map<string, Awaited<ReturnType<typeof importJWK>>>();
  for (const jwk of publicKeys) verifyKeys.set(jwk.kid!, await importJWK(jwk, TOKEN_ALGORITHM));

  return {
    async issue(user) {
      const now = Math.floor(Date.now() / 1000);
      const exp = now + ttlSeconds;
      const token = await new SignJWT({ role: user.role })
        .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: current.kid, typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .setJti(crypto.randomUUID())
        .sign(signingKey);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    jwks: () => ({ keys: publicKeys }),
    verifier: createTokenVerifier(async (header) => {
      const key = header.kid ? verifyKeys.get(header.kid) : undefined;
      if (!key) throw new joseErrors.JWKSNoMatchingKey();
      return key;
    }),
  };
}
