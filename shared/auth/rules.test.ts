import { describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse } from 'graphql';
import { allow, applyPermissions, or } from './shield.ts';
import { isAdmin, isOwnerOrAdmin, isServiceCall, type WithCaller } from './rules.ts';

const schema = applyPermissions(
  buildSubgraphSchema([
    {
      typeDefs: parse(`type Query { internal: String! }`),
      resolvers: { Query: { internal: () => 'internal' } },
    },
  ]),
  { Query: { internal: or(isAdmin, isServiceCall('test.isNotifications', ['notifications'])) } },
);

const user = (role: 'CUSTOMER' | 'ADMIN') => ({ userId: 'u1', role, token: 't', expiresAt: 0 });

async function ask(ctx: WithCaller) {
  const result = await graphql({ schema, source: '{ internal }', contextValue: ctx });
  return result.errors ? (result.errors[0]!.extensions.code ?? result.errors[0]!.message) : 'allowed';
}

describe('isServiceCall', () => {
  it('allows a named service calling on its own behalf', async () => {
    expect(await ask({ caller: { service: 'notifications' }, identity: null })).toBe('allowed');
  });

  it('refuses other services, anonymous callers, and users whoever relays them', async () => {
    expect(await ask({ caller: { service: 'gateway' }, identity: null })).not.toBe('allowed');
    expect(await ask({ caller: { service: 'orders' }, identity: null })).not.toBe('allowed');
    expect(await ask({ caller: null, identity: null })).not.toBe('allowed');
    expect(await ask({ caller: { service: 'notifications' }, identity: user('CUSTOMER') })).not.toBe(
      'allowed',
    );
    expect(await ask({ caller: { service: 'gateway' }, identity: user('ADMIN') })).toBe('allowed');
  });

  it('cannot name the gateway, which always acts for a client', () => {
    expect(() => isServiceCall('test.gateway', ['gateway'])).toThrow(/gateway/);
  });
});

describe('isOwnerOrAdmin', () => {
  const owned = applyPermissions(
    buildSubgraphSchema([
      {
        typeDefs: parse(`type Order { note: String } type Query { account(id: ID!): String, order: Order }`),
        resolvers: {
          Query: { account: () => 'account', order: () => ({ customerId: 'u1', note: 'note' }) },
        },
      },
    ]),
    {
      Query: {
        account: isOwnerOrAdmin<unknown, { id: string }>('test.account', (_parent, args) => args.id),
        order: allow,
      },
      Order: isOwnerOrAdmin<{ customerId: string }>('test.order', (order) => order.customerId, 'Not yours'),
    },
  );

  async function read(source: string, identity: WithCaller['identity']) {
    const result = await graphql({ schema: owned, source, contextValue: { identity } });
    const error = result.errors?.[0];
    // The code is the AppError's; the subgraph's error formatter puts it in `extensions`.
    const code = (error?.originalError as { code?: string } | undefined)?.code;
    return error ? `${code} ${error.message}` : 'allowed';
  }

  it('reads the owner from the arguments or the parent and allows the owner and administrators', async () => {
    for (const source of ['{ account(id: "u1") }', '{ order { note } }']) {
      expect(await read(source, user('CUSTOMER'))).toBe('allowed');
      expect(await read(source, { ...user('ADMIN'), userId: 'u0' })).toBe('allowed');
    }
  });

  it('refuses another user with FORBIDDEN and its message, and anonymous callers with UNAUTHENTICATED', async () => {
    const other = { ...user('CUSTOMER'), userId: 'u2' };
    expect(await read('{ account(id: "u1") }', other)).toBe('FORBIDDEN You may only see your own data');
    expect(await read('{ order { note } }', other)).toBe('FORBIDDEN Not yours');
    expect(await read('{ order { note } }', null)).toMatch(/^UNAUTHENTICATED/);
  });
});
