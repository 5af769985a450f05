import { describe, expect, it } from '@jest/globals';
import { cachingTokenVerifier, type Identity, type TokenVerifier } from './identity.ts';
import { UnauthenticatedError } from '../errors.ts';

/** A verifier that accepts tokens named `ok-<exp seconds>`, counting its checks. */
function countingVerifier(clock: { ms: number }) {
  const checks: string[] = [];
  const verify: TokenVerifier = async (token) => {
    checks.push(token);
    const exp = Number(/^ok-(\d+)$/.exec(token)?.[1]);
    // Like jose: expired at and after the second of `exp`.
    if (!exp || exp <= Math.floor(clock.ms / 1000)) throw new UnauthenticatedError('The token is not valid');
    return { userId: 'u1', role: 'CUSTOMER', token, expiresAt: exp } satisfies Identity;
  };
  return { verify, checks };
}

describe('cachingTokenVerifier', () => {
  it('checks a valid token once and answers the same identity after', async () => {
    const clock = { ms: 1_000_000 };
    const inner = countingVerifier(clock);
    const verify = cachingTokenVerifier(inner.verify, 10, () => clock.ms);
    const first = await verify('ok-2000');
    expect(await verify('ok-2000')).toBe(first);
    expect(inner.checks).toEqual(['ok-2000']);
  });

  it('never answers from the cache at or after the expiry second', async () => {
    const clock = { ms: 1_000_000 };
    const inner = countingVerifier(clock);
    const verify = cachingTokenVerifier(inner.verify, 10, () => clock.ms);
    await verify('ok-1005');
    clock.ms = 1_004_999;
    await expect(verify('ok-1005')).resolves.toMatchObject({ expiresAt: 1005 });
    clock.ms = 1_005_000;
    await expect(verify('ok-1005')).rejects.toThrow(UnauthenticatedError);
    expect(inner.checks).toEqual(['ok-1005', 'ok-1005']);
  });

  it('remembers no refused token', async () => {
    const clock = { ms: 1_000_000 };
    const inner = countingVerifier(clock);
    const verify = cachingTokenVerifier(inner.verify, 10, () => clock.ms);
    await expect(verify('forged')).rejects.toThrow(UnauthenticatedError);
    await expect(verify('forged')).rejects.toThrow(UnauthenticatedError);
    expect(inner.checks).toEqual(['forged', 'forged']);
  });

  it('shares one check among concurrent first uses of a token', async () => {
    const clock = { ms: 1_000_000 };
    const inner = countingVerifier(clock);
    const verify = cachingTokenVerifier(inner.verify, 10, () => clock.ms);
    const identities = await Promise.all([verify('ok-2000'), verify('ok-2000'), verify('ok-2000')]);
    expect(new Set(identities).size).toBe(1);
    expect(inner.checks).toEqual(['ok-2000']);
  });

  it('keeps at most `max` tokens, dropping the least recently used', async () => {
    const clock = { ms: 1_000_000 };
    const inner = countingVerifier(clock);
    const verify = cachingTokenVerifier(inner.verify, 2, () => clock.ms);
    await verify('ok-2001');
    await verify('ok-2002');
    await verify('ok-2001');
    await verify('ok-2003');
    await verify('ok-2001');
    await verify('ok-2002');
    expect(inner.checks).toEqual(['ok-2001', 'ok-2002', 'ok-2003', 'ok-2002']);
  });
});
