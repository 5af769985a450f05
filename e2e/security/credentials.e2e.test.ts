// Credential abuse, attacked through the real gateway: password guessing against one account
// and across many, aliased logins and registrations in one operation, and answers that would
// tell an attacker which emails have accounts. The gateway trusts one X-Forwarded-For hop here,
// so each test speaks from addresses of its own (documentation ranges, RFC 5737).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../../test/support/system.ts';
import type { Loose } from '../support/client.ts';
import { directRequest } from '../support/attack-tokens.ts';
import { metricSum } from '../support/metrics.ts';

const FREE_ATTEMPTS = 3;
const ADDRESS_FREE_ATTEMPTS = 8;
const REGISTER_BURST = 4;
const PASSWORD = 'customer-password';
const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }';
const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { token } }';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    env: {
      RATE_LIMIT_PER_MINUTE: '100000',
      TRUSTED_PROXY_HOPS: '1',
      LOGIN_THROTTLE_FREE_ATTEMPTS: String(FREE_ATTEMPTS),
      LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS: String(ADDRESS_FREE_ATTEMPTS),
      LOGIN_THROTTLE_REGISTER_BURST: String(REGISTER_BURST),
    },
  });
});

afterAll(async () => {
  await system?.dispose();
});

const unique = () => randomBytes(5).toString('hex');
let nextAddress = 1;
/** A client address no other test uses. */
const newAddress = () => `198.51.100.${nextAddress++}`;

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: GraphQLResponse<Loose>;
}

/** POSTs an operation to `url` as if from `address` (the gateway trusts one proxy hop). */
async function send(
  address: string,
  query: string,
  variables?: Record<string, unknown>,
  url = system.urls.gateway!,
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as GraphQLResponse<Loose>;
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

const login = (address: string, email: string, password: string) =>
  send(address, LOGIN, { e: email, p: password });
const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

/** A new customer account (registered from an address of its own). */
async function newAccount(): Promise<string> {
  const email = `victim-${unique()}@example.com`;
  const answer = await send(newAddress(), REGISTER, { i: { email, password: PASSWORD, name: 'Victim' } });
  expect(answer.body.data?.register?.token).toEqual(expect.any(String));
  return email;
}

/** How many operations the users subgraph has executed so far (its own /metrics). */
function usersOperations(): Promise<number> {
  return metricSum(system.process('users').baseUrl, 'graphql_operations_total');
}

describe('password guessing', () => {
  it('throttles repeated wrong passwords for one account from one address, without checking them', async () => {
    const email = await newAccount();
    const attacker = newAddress();
    for (let i = 0; i < FREE_ATTEMPTS; i++) {
      expect(codeOf(await login(attacker, email, `wrong-${i}-password`))).toBe('UNAUTHENTICATED');
    }
    const throttled = await login(attacker, email, 'wrong-again-password');
    expect(throttled.status).toBe(429);
    expect(codeOf(throttled)).toBe('RATE_LIMITED');
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(throttled.body.data ?? null).toBeNull();

    // The right password does not help while throttled: it is not even checked, and the
    // users subgraph never sees the attempt.
    const before = await usersOperations();
    // The account was registered through users: a reading of 0 would be one that failed.
    expect(before).toBeGreaterThan(0);
    const right = await login(attacker, email, PASSWORD);
    expect(codeOf(right)).toBe('RATE_LIMITED');
    expect(right.status).toBe(429);
    expect(await usersOperations()).toBe(before);
  });

  it('still lets the account holder sign in from another address (no lock-out from elsewhere)', async () => {
    const email = await newAccount();
    const attacker = newAddress();
    for (let i = 0; i <= FREE_ATTEMPTS; i++) await login(attacker, email, `wrong-${i}-password`);
    expect(codeOf(await login(attacker, email, 'wrong-again-password'))).toBe('RATE_LIMITED');

    const holder = await login(newAddress(), email, PASSWORD);
    expect(holder.body.errors).toBeUndefined();
    expect(holder.body.data?.login?.token).toEqual(expect.any(String));
  });

  it('limits one address guessing across many accounts', async () => {
    const attacker = newAddress();
    for (let i = 0; i < ADDRESS_FREE_ATTEMPTS; i++) {
      // One guess per account: no account+address key ever runs out.
      expect(codeOf(await login(attacker, `nobody-${unique()}@example.com`, 'guess-password'))).toBe(
        'UNAUTHENTICATED',
      );
    }
    const throttled = await login(attacker, `nobody-${unique()}@example.com`, 'guess-password');
    expect(codeOf(throttled)).toBe('RATE_LIMITED');
    expect(throttled.status).toBe(429);
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('forgets the failures of an account and address once the right password is given', async () => {
    const email = await newAccount();
    const address = newAddress();
    for (let i = 0; i < FREE_ATTEMPTS - 1; i++) await login(address, email, `typo-${i}-password`);
    expect((await login(address, email, PASSWORD)).body.data?.login?.token).toEqual(expect.any(String));
    // Without the reset, the next failure would be the last free one and the one after refused.
    for (let i = 0; i < FREE_ATTEMPTS; i++) {
      expect(codeOf(await login(address, email, `typo-again-${i}-password`))).toBe('UNAUTHENTICATED');
    }
  });

  it('answers a wrong password, an unknown email and a malformed email with the same body', async () => {
    const email = await newAccount();
    const address = newAddress();
    const wrongPassword = await login(address, email, 'not-the-password');
    const unknownEmail = await login(address, `nobody-${unique()}@example.com`, 'not-the-password');
    // (A NUL character is refused earlier, as BAD_USER_INPUT, by the gateway's guard for every
    // argument: it cannot be anyone's email, so that answer tells nothing about accounts.)
    const malformed = await login(address, `no-at-sign-${unique()}`, 'not-the-password');
    const overLong = await login(address, `${'a'.repeat(300)}@example.com`, 'not-the-password');
    expect(codeOf(wrongPassword)).toBe('UNAUTHENTICATED');
    for (const other of [unknownEmail, malformed, overLong]) {
      expect(other.status).toBe(wrongPassword.status);
      expect(other.body).toEqual(wrongPassword.body);
    }
  });
});

describe('one login or register per operation', () => {
  const refused = [
    [
      'aliased logins',
      `mutation { a: login(email: "a@example.com", password: "pw-pw-pw-1") { token }
                  b: login(email: "b@example.com", password: "pw-pw-pw-2") { token } }`,
    ],
    [
      'aliased registrations',
      `mutation { a: register(input: { email: "r1-${unique()}@example.com", password: "pw-pw-pw-1", name: "A" }) { token }
                  b: register(input: { email: "r2-${unique()}@example.com", password: "pw-pw-pw-2", name: "B" }) { token } }`,
    ],
    [
      'a login and a registration',
      `mutation { login(email: "a@example.com", password: "pw-pw-pw-1") { token }
                  register(input: { email: "r3-${unique()}@example.com", password: "pw-pw-pw-2", name: "C" }) { token } }`,
    ],
    [
      'logins hidden in fragments',
      `mutation { ...A ... on Mutation { b: login(email: "b@example.com", password: "pw-pw-pw-2") { token } } }
       fragment A on Mutation { a: login(email: "a@example.com", password: "pw-pw-pw-1") { token } }`,
    ],
  ] as const;

  it.each(refused)('refuses %s at the gateway with BAD_USER_INPUT', async (_name, query) => {
    const before = await usersOperations();
    const answer = await send(newAddress(), query);
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
    expect(answer.body.data ?? null).toBeNull();
    expect(await usersOperations()).toBe(before);
  });

  it.each(refused)('refuses %s in the users subgraph too', async (_name, query) => {
    // Straight to the subgraph, as the gateway would call it (with a service token).
    const answer = await directRequest(system, 'users', query, {}, { asService: 'gateway' });
    expect(answer.body.errors?.length).toBeGreaterThan(0);
    for (const error of answer.body.errors!) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(Object.values(answer.body.data ?? {}).filter(Boolean)).toEqual([]);
  });
});

describe('registration', () => {
  it('limits how many accounts one address may register', async () => {
    const address = newAddress();
    const register = () =>
      send(address, REGISTER, {
        i: { email: `many-${unique()}@example.com`, password: PASSWORD, name: 'M' },
      });
    for (let i = 0; i < REGISTER_BURST; i++) {
      expect((await register()).body.data?.register?.token).toEqual(expect.any(String));
    }
    const throttled = await register();
    expect(throttled.status).toBe(429);
    expect(codeOf(throttled)).toBe('RATE_LIMITED');
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
