// The life of a token signing key, and the table that holds them.
//
//   pending ── activatesAt ──▶ signing ── successor activates ──▶ verifying ── + token TTL ──▶ retired
//
// A rotated-in key is published in the JWKS from the moment it is created but signs only from
// `activatesAt`, a while later: by then every users instance has read it (they re-read the table
// every few seconds) and every verifier that fetched the JWKS before it appeared may fetch again
// (jose's remote key set refetches on an unknown key id, at most once per cooldown). The key it
// replaces keeps verifying until the last token it signed has expired, then it is retired:
// dropped from the JWKS and, at the next rotation, from the table.
import { exportJWK, generateKeyPair } from 'jose';
import type { EntityManager } from '@mikro-orm/postgresql';
import { JWKS_REFETCH_COOLDOWN_SECONDS, TOKEN_ALGORITHM } from '../../../../shared/auth/identity.ts';
import { SigningKey } from './signing-key.entity.ts';

/** Allowance for clocks and for an instance that read the table late. */
export const RETIREMENT_LEEWAY_SECONDS = 60;
/** How often a users instance re-reads the keys, by default. */
export const DEFAULT_KEY_REFRESH_SECONDS = 10;
/**
 * Default wait between a rotation and the new key's first signature: an instance's refresh
 * period plus the verifiers' refetch cooldown, with a margin.
 */
export const DEFAULT_ACTIVATION_SECONDS = 2 * (DEFAULT_KEY_REFRESH_SECONDS + JWKS_REFETCH_COOLDOWN_SECONDS);

export type KeyStatus = 'pending' | 'signing' | 'verifying' | 'retired';

export interface KeyTimes {
  readonly kid: string;
  readonly activatesAt: Date;
}

export interface KeyState<K extends KeyTimes = KeyTimes> {
  readonly key: K;
  readonly status: KeyStatus;
  /** For a superseded key: when the last token it signed expires, plus the leeway. */
  readonly retiresAt?: Date;
}

/** Each key's status at `now`, oldest activation first. Exactly one key signs (if any exist). */
export function keySchedule<K extends KeyTimes>(
  keys: readonly K[],
  now: Date,
  ttlSeconds: number,
): KeyState<K>[] {
  const sorted = [...keys].sort(
    (a, b) => a.activatesAt.getTime() - b.activatesAt.getTime() || a.kid.localeCompare(b.kid),
  );
  const active = sorted.filter((k) => k.activatesAt <= now);
  // Only pending keys (clocks apart, or a table edited by hand): the first of them signs.
  const signing = active.at(-1) ?? sorted[0];
  return sorted.map((key): KeyState<K> => {
    if (key === signing) return { key, status: 'signing' };
    const index = active.indexOf(key);
    if (index === -1) return { key, status: 'pending' };
    const supersededAt = active[index + 1]!.activatesAt;
    const retiresAt = new Date(supersededAt.getTime() + (ttlSeconds + RETIREMENT_LEEWAY_SECONDS) * 1000);
    return { key, status: retiresAt <= now ? 'retired' : 'verifying', retiresAt };
  });
}

export function loadSigningKeys(em: EntityManager): Promise<SigningKey[]> {
  return em.find(SigningKey, {}, { orderBy: { activatesAt: 'asc' } });
}

/** Creates a key pair and stores it, signing from `activatesAt`. */
export async function createSigningKey(em: EntityManager, activatesAt: Date): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, {
    crv: 'Ed25519',
    extractable: true,
  });
  const kid = crypto.randomUUID();
  await em.insert(SigningKey, {
    kid,
    privateJwk: await exportJWK(privateKey),
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALGORITHM, use: 'sig' },
    createdAt: new Date(),
    activatesAt,
  });
  return kid;
}

export interface Rotation {
  readonly kid: string;
  readonly activatesAt: Date;
  /** Keys whose every token had expired, deleted now. */
  readonly deleted: readonly string[];
}

/** Adds a key that signs `activateInSeconds` from now, and deletes the retired ones. */
export async function rotateSigningKey(
  em: EntityManager,
  options: { readonly activateInSeconds: number; readonly ttlSeconds: number },
): Promise<Rotation> {
  const activatesAt = new Date(Date.now() + options.activateInSeconds * 1000);
  const kid = await createSigningKey(em, activatesAt);
  const retired = keySchedule(await loadSigningKeys(em), new Date(), options.ttlSeconds)
    .filter((s) => s.status === 'retired')
    .map((s) => s.key.kid);
  if (retired.length > 0) await em.nativeDelete(SigningKey, { kid: { $in: retired } });
  return { kid, activatesAt, deleted: retired };
}
