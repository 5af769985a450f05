import type { IncomingMessage } from 'node:http';
import { describe, expect, it, jest } from '@jest/globals';
import type { Identity, TokenVerifier } from '../../../shared/auth/identity.ts';
import { UnauthenticatedError } from '../../../shared/errors.ts';
import { requestMeta } from '../http/request-meta.ts';
import { rateLimitedError, type RateLimiter } from '../limits/rate-limit.ts';
import { admitClient, refusalOf } from './admission.ts';

const CUSTOMER: Identity = { userId: 'u1', role: 'CUSTOMER', token: 'good', expiresAt: 2e9 };

/** A rate limiter that records each key it is asked for and refuses those in `spent`. */
function limiter(spent: readonly string[] = []) {
  const keys: string[] = [];
  const rateLimiter: RateLimiter = {
    check: async (key) => {
      keys.push(key);
      if (spent.includes(key)) throw rateLimitedError(42);
    },
    stop: () => undefined,
  };
  return { keys, rateLimiter };
}

function setup(authorization: string | undefined, spent: readonly string[] = []) {
  const verifyToken = jest.fn<TokenVerifier>(async (token) => {
    if (token === 'good') return CUSTOMER;
    if (token === 'unreachable') throw new Error('the key set could not be fetched');
    throw new UnauthenticatedError('The token is not valid');
  });
  const { keys, rateLimiter } = limiter(spent);
  const req = {
    socket: { remoteAddress: '203.0.113.7' },
    headers: authorization ? { authorization } : {},
  } as unknown as IncomingMessage;
  return { req, keys, verifyToken, options: { verifyToken, rateLimiter, trustedProxyHops: 0 } };
}

describe('admitClient', () => {
  it('limits an anonymous client by its address, verifying nothing', async () => {
    const { req, keys, verifyToken, options } = setup(undefined);
    await expect(admitClient(req, options)).resolves.toBeNull();
    expect(keys).toEqual(['ip:203.0.113.7']);
    expect(verifyToken).not.toHaveBeenCalled();
  });

  it('limits a signed-in client as its user, its token verified once, and records it', async () => {
    const { req, keys, verifyToken, options } = setup('Bearer good');
    await expect(admitClient(req, options)).resolves.toBe(CUSTOMER);
    expect(keys).toEqual(['user:u1']);
    expect(verifyToken).toHaveBeenCalledTimes(1);
    expect(requestMeta(req, 0).userId).toBe('u1');
  });

  it("refuses a bad token UNAUTHENTICATED (401) once it has spent its address's limit", async () => {
    const { req, keys, options } = setup('Bearer forged');
    const refusal = await admitClient(req, options).catch(refusalOf);
    expect(refusal).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
      message: 'The token is not valid',
      headers: {},
    });
    expect(keys).toEqual(['ip:203.0.113.7']);
  });

  it("refuses a bad token RATE_LIMITED (429) when its address's limit is spent", async () => {
    const { req, options } = setup('Bearer forged', ['ip:203.0.113.7']);
    expect(await admitClient(req, options).catch(refusalOf)).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      headers: { 'retry-after': '42' },
    });
  });

  it('refuses a user whose limit is spent (429, Retry-After), keeping who it was for the log', async () => {
    const { req, options } = setup('Bearer good', ['user:u1']);
    const err = await admitClient(req, options).catch((e: unknown) => e);
    // As Apollo answers it: the rate limiter's own error, with its HTTP status and header.
    expect(err).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 42 } });
    expect(refusalOf(err)).toMatchObject({ status: 429, headers: { 'retry-after': '42' } });
    expect(requestMeta(req, 0).userId).toBe('u1');
  });

  it('throws a key set it cannot fetch as it is, charging nothing: that is not a refusal', async () => {
    const { req, keys, options } = setup('Bearer unreachable');
    const err = await admitClient(req, options).catch((e: unknown) => e);
    expect(err).toEqual(new Error('the key set could not be fetched'));
    expect(refusalOf(err)).toBeUndefined();
    expect(keys).toEqual([]);
  });
});
