import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { SignJWT, UnsecuredJWT } from 'jose';
import {
  SERVICE_TOKEN_HEADER,
  SERVICE_TOKEN_ISSUER,
  createServiceTokenSigner,
  createServiceTokenVerifier,
  generateServiceSecret,
  identifyService,
  weakSecretReason,
} from './service-identity.ts';

const secret = generateServiceSecret();
const code = (err: unknown) => (err as { code?: string }).code;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function sign(
  claims: { iss?: string; sub?: string; aud?: string; iat?: number; exp?: number },
  key = secret,
) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(claims.iss ?? SERVICE_TOKEN_ISSUER)
    .setAudience(claims.aud ?? 'products')
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 60);
  if (claims.sub !== '') jwt.setSubject(claims.sub ?? 'orders');
  return jwt.sign(new TextEncoder().encode(key));
}

describe('service tokens', () => {
  it('names the calling service to the service it was signed for', async () => {
    const token = await createServiceTokenSigner(secret, 'orders')('products');
    await expect(createServiceTokenVerifier(secret, 'products')(token)).resolves.toEqual({
      service: 'orders',
    });
  });

  it('reuses a token for the same audience and signs another for a different one', async () => {
    const signer = createServiceTokenSigner(secret, 'gateway');
    const first = await signer('users');
    expect(await signer('users')).toBe(first);
    expect(await signer('orders')).not.toBe(first);
  });

  it.each([
    ['another service', async () => createServiceTokenSigner(secret, 'gateway')('orders')],
    ['another secret', async () => createServiceTokenSigner(generateServiceSecret(), 'gateway')('products')],
    ['an expired token', async () => sign({ iat: 1_000, exp: 1_060 })],
    ['a long-lived token signed long ago', async () => sign({ iat: 1_000, exp: 9_999_999_999 })],
    ['another issuer', async () => sign({ iss: 'order-supergraph/users' })],
    ['no subject', async () => sign({ sub: '' })],
    [
      'alg none',
      async () =>
        new UnsecuredJWT({ sub: 'orders' }).setIssuer(SERVICE_TOKEN_ISSUER).setAudience('products').encode(),
    ],
    ['garbage', async () => 'not.a.token'],
  ])('refuses a token for %s with UNAUTHENTICATED', async (_name, make) => {
    const err = await rejection(createServiceTokenVerifier(secret, 'products')(await make()));
    expect(code(err)).toBe('UNAUTHENTICATED');
  });
});

describe('the verifier’s memory of verified tokens', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('forgets a token once it has expired', async () => {
    jest.useFakeTimers({ now: Date.now(), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const verify = createServiceTokenVerifier(secret, 'products');
    const token = await createServiceTokenSigner(secret, 'orders')('products');
    await expect(verify(token)).resolves.toEqual({ service: 'orders' });
    jest.setSystemTime(Date.now() + 2 * 60_000);
    expect(code(await rejection(verify(token)))).toBe('UNAUTHENTICATED');
  });
});

describe('identifyService', () => {
  const verify = createServiceTokenVerifier(secret, 'products');

  it('lets every request through as no service when no secret is configured', async () => {
    await expect(identifyService({}, undefined)).resolves.toBeNull();
  });

  it('refuses a request without a token when a secret is configured', async () => {
    expect(code(await rejection(identifyService({}, verify)))).toBe('UNAUTHENTICATED');
  });

  it('accepts a request with a valid token', async () => {
    const token = await createServiceTokenSigner(secret, 'gateway')('products');
    await expect(identifyService({ [SERVICE_TOKEN_HEADER]: token }, verify)).resolves.toEqual({
      service: 'gateway',
    });
  });
});

describe('weakSecretReason', () => {
  it('accepts a generated secret', () => {
    expect(weakSecretReason(generateServiceSecret())).toBeUndefined();
  });

  it.each([
    'short',
    'a'.repeat(64),
    'development-service-secret-do-not-use-in-prod',
    'x'.repeat(20) + 'changeme12345678',
  ])('refuses %s', (value) => {
    expect(weakSecretReason(value)).toEqual(expect.any(String));
  });
});
