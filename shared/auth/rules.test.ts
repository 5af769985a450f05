import { describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse } from 'graphql';
import { applyPermissions, or } from './shield.ts';
import { isAdmin, isServiceCall, type WithCaller } from './rules.ts';

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
