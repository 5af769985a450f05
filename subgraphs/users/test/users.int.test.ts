// The users subgraph on its own, over real HTTP on real PostgreSQL (and NATS, which every
// subgraph connects to), called as the gateway calls it: a service token on every request, the
// user's bearer token when there is one. Accounts, tokens, input errors, who may read whom, and
// User entities. One subgraph serves the whole file: every test makes accounts of its own.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../../shared/auth/identity.ts';
import { dropTestResources, graphqlRequest, type GraphQLResponse } from '../../../test/support/system.ts';
import {
  callAsGateway,
  firstErrorExtensions,
  sqlQueryCount,
  startTestUsers,
  testEnvironment,
  TEST_CUSTOMER_PASSWORD,
  type SubgraphCall,
  type TestAccount,
  type TestUsers,
} from '../../../test/support/subgraph.ts';

const env = testEnvironment({ serviceSecret: true });
let users: TestUsers | undefined;
let call: SubgraphCall;

beforeAll(async () => {
  users = await startTestUsers(env);
  call = callAsGateway(env, 'users', users.service.url);
});

afterAll(async () => {
  try {
    await users?.stop();
  } finally {
    await dropTestResources(env.resources);
  }
});

const REGISTER = `mutation($input: RegisterInput!) {
  register(input: $input) { token expiresAt user { id email name role createdAt } } }`;
const LOGIN = `mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { token user { id email } } }`;
const ME = '{ me { id email name role } }';
const USER = 'query($id: ID!) { user(id: $id) { id name email role } }';
const USER_ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name email } } }`;

interface AuthPayload {
  token: string;
  expiresAt: string;
  user: { id: string; email: string; name: string; role: string; createdAt: string };
}

const uniqueEmail = () => `user-${randomBytes(6).toString('hex')}@example.com`;
const userRef = (id: string) => ({ __typename: 'User', id });

describe('register and login', () => {
  test('register signs a customer in with a token for its own account, valid for the configured time', async () => {
    const email = uniqueEmail();
    const result = await call<{ register: AuthPayload }>(REGISTER, {
      input: { email: `  ${email.toUpperCase()} `, password: 'correct horse battery', name: '  Ada  ' },
    });
    expect(result.errors).toBeUndefined();
    const { token, expiresAt, user } = result.data!.register;
    expect(user).toMatchObject({ email, name: 'Ada', role: 'CUSTOMER' });
    const lifetimeSeconds = (Date.parse(expiresAt) - Date.now()) / 1000;
    expect(lifetimeSeconds).toBeGreaterThan(800);
    expect(lifetimeSeconds).toBeLessThanOrEqual(900);

    // The token is what the gateway verifies against the published keys and forwards.
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(users!.jwksUrl)), {
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
    });
    expect(payload).toMatchObject({ sub: user.id, role: 'CUSTOMER' });
    expect(await call(ME, {}, token)).toEqual({
      data: { me: { id: user.id, email, name: 'Ada', role: 'CUSTOMER' } },
    });
    expect(await call(ME)).toEqual({ data: { me: null } });
  });

  test('login accepts the email in any case; a wrong password, an unknown and a malformed email fail alike', async () => {
    const account = await users!.customer();
    const login = await call<{ login: { token: string; user: { id: string } } }>(LOGIN, {
      email: ` ${account.email.toUpperCase()}`,
      password: TEST_CUSTOMER_PASSWORD,
    });
    expect(login.errors).toBeUndefined();
    expect(login.data!.login.user.id).toBe(account.id);
    expect((await call<{ me: { id: string } }>(ME, {}, login.data!.login.token)).data!.me.id).toBe(
      account.id,
    );

    const failures = await Promise.all(
      [
        { email: account.email, password: 'not the password' },
        { email: uniqueEmail(), password: TEST_CUSTOMER_PASSWORD },
        { email: 'not an email', password: TEST_CUSTOMER_PASSWORD },
      ].map((variables) => call(LOGIN, variables)),
    );
    for (const failure of failures) {
      expect(failure.data ?? null).toBeNull();
      expect(failure.errors).toEqual([
        expect.objectContaining({
          message: 'Invalid email or password',
          extensions: { code: 'UNAUTHENTICATED' },
        }),
      ]);
    }
  });

  test('a second account for an email, in any case, is a CONFLICT on input.email', async () => {
    const account = await users!.customer();
    const again = await call(REGISTER, {
      input: { email: account.email.toUpperCase(), password: 'another password', name: 'Twin' },
    });
    expect(again.data ?? null).toBeNull();
    expect(firstErrorExtensions(again)).toEqual({ code: 'CONFLICT', field: 'input.email' });
  });

  test.each([
    ['input.email', { email: 'not-an-email' }],
    ['input.email', { email: 'two words@example.com' }],
    ['input.email', { email: `${'a'.repeat(250)}@example.com` }],
    ['input.password', { password: 'short' }],
    ['input.password', { password: 'p'.repeat(257) }],
    ['input.name', { name: '   ' }],
    ['input.name', { name: 'n'.repeat(101) }],
    // (A NUL is refused earlier, for any variable: see shared/graphql/limits/input-guard.ts.)
    ['input.name', { name: 'Ada\u0007Lovelace' }],
  ])('register with a bad %s is BAD_USER_INPUT naming it (case %#)', async (field, bad) => {
    const input = { email: uniqueEmail(), password: 'correct horse battery', name: 'Ada', ...bad };
    const result = await call(REGISTER, { input });
    expect(result.data ?? null).toBeNull();
    expect(firstErrorExtensions(result)).toEqual({ code: 'BAD_USER_INPUT', field });
  });

  test('one login or register per operation: two under aliases are BAD_USER_INPUT', async () => {
    const result = await call(
      `mutation($e: String!, $p: String!) {
         a: login(email: $e, password: $p) { token } b: login(email: $e, password: $p) { token } }`,
      { e: uniqueEmail(), p: 'whatever password' },
    );
    expect(result.data ?? null).toBeNull();
    expect(result.errors!.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT' }]);
  });
});

describe('who may read whom', () => {
  let alice: TestAccount;
  let bob: TestAccount;
  beforeAll(async () => {
    [alice, bob] = await Promise.all([users!.customer(), users!.customer()]);
  });

  test('a customer reads its own account and is FORBIDDEN another; an administrator reads anyone', async () => {
    expect((await call(USER, { id: alice.id }, alice.token)).data).toEqual({
      user: { id: alice.id, name: 'Customer', email: alice.email, role: 'CUSTOMER' },
    });

    const other = await call(USER, { id: bob.id }, alice.token);
    expect(other.data?.user ?? null).toBeNull();
    expect(firstErrorExtensions(other).code).toBe('FORBIDDEN');
    // Not even the public fields: looking another user up is for administrators.
    const publicOnly = await call(
      'query($id: ID!) { user(id: $id) { id name } }',
      { id: bob.id },
      alice.token,
    );
    expect(publicOnly.data?.user ?? null).toBeNull();
    expect(firstErrorExtensions(publicOnly).code).toBe('FORBIDDEN');

    const byAdmin = await call(USER, { id: bob.id }, users!.adminToken);
    expect(byAdmin).toEqual({
      data: { user: { id: bob.id, name: 'Customer', email: bob.email, role: 'CUSTOMER' } },
    });
    expect(await call(USER, { id: randomUUID() }, users!.adminToken)).toEqual({ data: { user: null } });
  });

  test('anonymous callers and forged tokens are UNAUTHENTICATED', async () => {
    expect(firstErrorExtensions(await call(USER, { id: alice.id })).code).toBe('UNAUTHENTICATED');
    const [header, payload] = alice.token.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
    expect(firstErrorExtensions(await call(ME, {}, forged)).code).toBe('UNAUTHENTICATED');
  });

  test('User entities: id and name for everyone, email only for the user itself and administrators', async () => {
    const missing = randomUUID();
    const r = [userRef(alice.id), userRef(bob.id), userRef(missing)];

    const publicFields = await call(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }`,
      { r },
    );
    expect(publicFields).toEqual({
      data: { _entities: [{ id: alice.id, name: 'Customer' }, { id: bob.id, name: 'Customer' }, null] },
    });

    const asAlice = await call<{ _entities: unknown[] }>(USER_ENTITIES, { r }, alice.token);
    expect(asAlice.data!._entities).toEqual([
      { id: alice.id, name: 'Customer', email: alice.email },
      null,
      null,
    ]);
    expect(asAlice.errors).toEqual([
      expect.objectContaining({ path: ['_entities', 1, 'email'], extensions: { code: 'FORBIDDEN' } }),
    ]);

    const before = await sqlQueryCount(users!.service);
    const asAdmin = await call(USER_ENTITIES, { r }, users!.adminToken);
    // Three users, one statement: entities are loaded in a batch.
    expect(await sqlQueryCount(users!.service)).toBe(before + 1);
    expect(asAdmin).toEqual({
      data: {
        _entities: [
          { id: alice.id, name: 'Customer', email: alice.email },
          { id: bob.id, name: 'Customer', email: bob.email },
          null,
        ],
      },
    });
  });
});

describe('service tokens', () => {
  test('a request without the service token is refused with 401; the JWKS stays open', async () => {
    const response = await fetch(users!.service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(401);
    expect(firstErrorExtensions((await response.json()) as GraphQLResponse)).toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    const wrongSecret = await graphqlRequest(users!.service.url, '{ __typename }', undefined, undefined, {
      'x-service-token': 'not.a.token',
    });
    expect(firstErrorExtensions(wrongSecret).code).toBe('UNAUTHENTICATED');

    const jwks = (await (await fetch(users!.jwksUrl)).json()) as { keys: { kty: string; kid: string }[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP' });
  });
});
