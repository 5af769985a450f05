// Issues access tokens and publishes the keys that verify them. The signing keys live in the
// database so that every instance of the users subgraph signs with keys the others publish, and
// they rotate without a restart: each instance re-reads the table every few seconds
// (`refresh`), and which key signs follows from the keys' activation times (signing-keys.ts).
import { errors as joseErrors, importJWK, SignJWT, type JWK } from 'jose';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  TOKEN_ALGORITHM,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  createTokenVerifier,
  type Role,
  type TokenVerifier,
} from '../../../../shared/auth/identity.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { Worker } from '../../../../shared/service/subgraph-service.ts';
import { createSigningKey, keySchedule, loadSigningKeys, type KeyState } from './signing-keys.ts';
import type { SigningKey } from './signing-key.entity.ts';

export interface TokenIssuer {
  issue(user: { id: string; role: Role }): Promise<{ token: string; expiresAt: Date }>;
  /** The public keys, as served at /.well-known/jwks.json: pending, signing and verifying ones. */
  jwks(): { keys: JWK[] };
  /** Verifies tokens with the keys in hand, without a round trip to ourselves. */
  verifier: TokenVerifier;
  /** Re-reads the keys from the database (a rotation by another process). */
  refresh(): Promise<void>;
}

type CryptoKeyLike = Awaited<ReturnType<typeof importJWK>>;

interface LoadedKey {
  readonly kid: string;
  readonly activatesAt: Date;
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
  readonly verifyKey: CryptoKeyLike;
  signKey?: CryptoKeyLike;
}

/**
 * Loads the keys (creating the first one if there is none) and issues tokens valid for
 * `ttlSeconds`. `em` gives a fresh EntityManager for each read.
 */
export async function loadTokenIssuer(em: () => EntityManager, ttlSeconds: number): Promise<TokenIssuer> {
  let rows = await loadSigningKeys(em());
  if (rows.length === 0) {
    // A twin instance starting at the same moment may insert its own key: both are published,
    // and both instances sign with the same one once they have read each other's.
    await createSigningKey(em(), new Date());
    rows = await loadSigningKeys(em());
  }
  let keys = new Map<string, LoadedKey>();
  const load = async (found: readonly SigningKey[]): Promise<void> => {
    // An emptied table (by hand) must not leave this instance with nothing to sign with.
    if (found.length === 0) return;
    const next = new Map<string, LoadedKey>();
    for (const row of found) {
      const known = keys.get(row.kid);
      next.set(
        row.kid,
        known ?? {
          kid: row.kid,
          activatesAt: row.activatesAt,
          publicJwk: row.publicJwk as JWK,
          privateJwk: row.privateJwk as JWK,
          verifyKey: await importJWK(row.publicJwk as JWK, TOKEN_ALGORITHM),
        },
      );
    }
    keys = next;
  };
  await load(rows);

  /** The keys that are not retired, at this moment. */
  const schedule = (): KeyState<LoadedKey>[] =>
    keySchedule([...keys.values()], new Date(), ttlSeconds).filter((s) => s.status !== 'retired');

  return {
    async issue(user) {
      const current = schedule().find((s) => s.status === 'signing')!.key;
      current.signKey ??= await importJWK(current.privateJwk, TOKEN_ALGORITHM);
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
        .sign(current.signKey);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    jwks: () => ({ keys: schedule().map((s) => s.key.publicJwk) }),
    verifier: createTokenVerifier(async (header) => {
      const key = header.kid ? schedule().find((s) => s.key.kid === header.kid)?.key : undefined;
      if (!key) throw new joseErrors.JWKSNoMatchingKey();
      return key.verifyKey;
    }),
    refresh: async () => load(await loadSigningKeys(em())),
  };
}

/** Re-reads the keys every `seconds`; a failed read keeps the keys in hand and is logged. */
export function keyRefreshWorker(tokens: TokenIssuer, seconds: number, logger: Logger): Worker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  return {
    name: 'signing-key-refresh',
    start() {
      timer = setInterval(() => {
        running = tokens
          .refresh()
          .catch((err: unknown) => logger.warn({ err }, 'could not re-read the signing keys'));
      }, seconds * 1000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
