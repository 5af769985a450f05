import { describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, graphql, parse, type ExecutionResult, type GraphQLObjectType } from 'graphql';
import { allow, and, applyPermissions, chain, deny, not, or, race, rule, type ShieldRule } from './shield.ts';

type Context = { user?: { id: string; admin: boolean }; calls: string[] };

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.14", import: ["@key"])

  type Product @key(fields: "id") {
    id: ID!
    name: String!
    cost: Int!
  }

  type Query {
    open: String!
    closed: String!
    unlisted: String!
    signedIn: String!
    admin: String!
    chainAllowed: String!
    chainDenied: String!
    raceAllowed: String!
    raceDenied: String!
    orAllowed: String!
    andDenied: String!
    notAllowed: String!
    product(id: ID!): Product
    missing: String
  }
`);

const products = new Map([['p1', { id: 'p1', name: 'Lamp', cost: 12 }]]);

const schema = buildSubgraphSchema([
  {
    typeDefs,
    resolvers: {
      Query: {
        open: () => 'open',
        closed: () => 'closed',
        unlisted: () => 'unlisted',
        signedIn: () => 'signed in',
        admin: () => 'admin',
        chainAllowed: () => 'chain allowed',
        chainDenied: () => 'chain denied',
        raceAllowed: () => 'race allowed',
        raceDenied: () => 'race denied',
        orAllowed: () => 'or allowed',
        andDenied: () => 'and denied',
        notAllowed: () => 'not allowed',
        product: (_: unknown, { id }: { id: string }) => products.get(id) ?? null,
        missing: () => {
          throw new GraphQLError('Nothing here', { extensions: { code: 'NOT_FOUND' } });
        },
      },
      Product: {
        __resolveReference: (ref: { id: string }) => products.get(ref.id) ?? null,
      },
    },
  },
]);

// Rules record their calls so that chain/race can be shown to stop early.
const tracked = (name: string, decide: (ctx: Context) => true | Error) =>
  rule(name)((_parent, _args, ctx: Context) => {
    ctx.calls.push(name);
    return decide(ctx);
  });

const isSignedIn = tracked('isSignedIn', (ctx) =>
  ctx.user ? true : new GraphQLError('Sign in first', { extensions: { code: 'UNAUTHENTICATED' } }),
);
const isAdmin = tracked('isAdmin', (ctx) =>
  ctx.user?.admin ? true : new GraphQLError('Admins only', { extensions: { code: 'FORBIDDEN' } }),
);
const alwaysTrue = tracked('alwaysTrue', () => true);
const alwaysError = tracked(
  'alwaysError',
  () => new GraphQLError('No', { extensions: { code: 'FORBIDDEN' } }),
);
const throws = rule('throws')(() => {
  throw new Error('rule crashed');
});

const rules: Record<string, ShieldRule | Record<string, ShieldRule>> = {
  Query: {
    _service: allow,
    _entities: allow,
    open: allow,
    closed: deny,
    // `unlisted` has no rule: the deny fallback applies.
    signedIn: isSignedIn,
    admin: chain(isSignedIn, isAdmin),
    chainAllowed: chain(alwaysTrue, isSignedIn),
    chainDenied: chain(alwaysError, alwaysTrue),
    raceAllowed: race(alwaysTrue, alwaysError),
    raceDenied: race(throws, alwaysError),
    orAllowed: or(alwaysError, alwaysTrue),
    andDenied: and(alwaysTrue, alwaysError),
    notAllowed: not(alwaysError),
    product: allow,
    missing: allow,
  },
  Product: {
    '*': allow,
    cost: isAdmin,
  },
};

const guarded = applyPermissions(schema, rules, { fallbackRule: deny });

async function run(query: string, ctx: Partial<Context> = {}, variables?: Record<string, unknown>) {
  const contextValue: Context = { calls: [], ...ctx };
  const result = (await graphql({
    schema: guarded,
    source: query,
    contextValue,
    variableValues: variables,
  })) as ExecutionResult<Record<string, unknown>>;
  return { result, calls: contextValue.calls };
}

const codes = (result: ExecutionResult) => result.errors?.map((e) => [e.path?.join('.'), e.extensions.code]);

const alice = { id: 'u1', admin: false };
const root = { id: 'u0', admin: true };

describe('applyPermissions', () => {
  it('allows `allow` fields and denies `deny` and unlisted fields with FORBIDDEN', async () => {
    expect((await run('{ open }')).result).toEqual({ data: { open: 'open' } });
    for (const field of ['closed', 'unlisted']) {
      const { result: denied } = await run(`{ ${field} }`);
      expect(denied.data).toBeNull();
      expect(denied.errors?.[0]?.message).toBe('Not authorised');
      expect(codes(denied)).toEqual([[field, 'FORBIDDEN']]);
    }
  });

  it("returns the rule's own error when a rule returns one", async () => {
    const { result } = await run('{ signedIn }');
    expect(codes(result)).toEqual([['signedIn', 'UNAUTHENTICATED']]);
    expect((await run('{ signedIn }', { user: alice })).result.data).toEqual({ signedIn: 'signed in' });
  });

  it('denies with FORBIDDEN when a rule throws', async () => {
    const guardedByThrow = applyPermissions(schema, { Query: { '*': allow, open: throws } });
    const result = await graphql({ schema: guardedByThrow, source: '{ open }', contextValue: {} });
    expect(codes(result)).toEqual([['open', 'FORBIDDEN']]);
  });

  it('keeps the code of an error thrown by a resolver (allowExternalErrors)', async () => {
    const { result } = await run('{ missing }');
    expect(result.data).toEqual({ missing: null });
    expect(result.errors?.[0]?.message).toBe('Nothing here');
    expect(codes(result)).toEqual([['missing', 'NOT_FOUND']]);
  });

  describe('chain', () => {
    it('allows when every rule allows, in order', async () => {
      const { result, calls } = await run('{ chainAllowed }', { user: alice });
      expect(result).toEqual({ data: { chainAllowed: 'chain allowed' } });
      expect(calls).toEqual(['alwaysTrue', 'isSignedIn']);
    });

    it('stops at the first denial and returns its error', async () => {
      const { result, calls } = await run('{ chainDenied }');
      expect(codes(result)).toEqual([['chainDenied', 'FORBIDDEN']]);
      expect(result.errors?.[0]?.message).toBe('No');
      expect(calls).toEqual(['alwaysError']);
    });

    it('combines authentication and authorisation', async () => {
      expect(codes((await run('{ admin }')).result)).toEqual([['admin', 'UNAUTHENTICATED']]);
      expect(codes((await run('{ admin }', { user: alice })).result)).toEqual([['admin', 'FORBIDDEN']]);
      expect((await run('{ admin }', { user: root })).result.data).toEqual({ admin: 'admin' });
    });
  });

  describe('race', () => {
    it('allows at the first rule that allows and evaluates no further', async () => {
      const { result, calls } = await run('{ raceAllowed }');
      expect(result).toEqual({ data: { raceAllowed: 'race allowed' } });
      expect(calls).toEqual(['alwaysTrue']);
    });

    it('denies when no rule allows, with the first error returned', async () => {
      const { result, calls } = await run('{ raceDenied }');
      expect(codes(result)).toEqual([['raceDenied', 'FORBIDDEN']]);
      expect(result.errors?.[0]?.message).toBe('No');
      expect(calls).toEqual(['alwaysError']);
    });
  });

  it('supports or, and, not', async () => {
    expect((await run('{ orAllowed }')).result.data).toEqual({ orAllowed: 'or allowed' });
    expect(codes((await run('{ andDenied }')).result)).toEqual([['andDenied', 'FORBIDDEN']]);
    expect((await run('{ notAllowed }')).result.data).toEqual({ notAllowed: 'not allowed' });
  });

  it('guards entity fields the same way through a root field', async () => {
    const query = 'query ($id: ID!) { product(id: $id) { id name cost } }';
    const { result } = await run(query, { user: alice }, { id: 'p1' });
    expect(result.data).toEqual({ product: null });
    expect(codes(result)).toEqual([['product.cost', 'FORBIDDEN']]);
    const asRoot = await run(query, { user: root }, { id: 'p1' });
    expect(asRoot.result).toEqual({ data: { product: { id: 'p1', name: 'Lamp', cost: 12 } } });
  });

  describe('federation', () => {
    const entities = /* GraphQL */ `
      query ($representations: [_Any!]!) {
        _entities(representations: $representations) {
          ... on Product {
            id
            name
            cost
          }
        }
      }
    `;
    const nameOnly = /* GraphQL */ `
      query ($representations: [_Any!]!) {
        _entities(representations: $representations) {
          ... on Product {
            id
            name
          }
        }
      }
    `;
    const representations = [{ __typename: 'Product', id: 'p1' }];

    it('serves the SDL through Query._service', async () => {
      const { result } = await run('{ _service { sdl } }');
      expect(result.errors).toBeUndefined();
      expect((result.data?._service as { sdl: string }).sdl).toContain('type Product');
    });

    it("resolves entities through _entities under the entity type's rules", async () => {
      const { result } = await run(nameOnly, {}, { representations });
      expect(result).toEqual({ data: { _entities: [{ id: 'p1', name: 'Lamp' }] } });
    });

    it('denies a guarded entity field reached through _entities', async () => {
      const { result } = await run(entities, { user: alice }, { representations });
      expect(result.data).toEqual({ _entities: [null] });
      expect(codes(result)).toEqual([['_entities.0.cost', 'FORBIDDEN']]);
      const asRoot = await run(entities, { user: root }, { representations });
      expect(asRoot.result).toEqual({ data: { _entities: [{ id: 'p1', name: 'Lamp', cost: 12 }] } });
    });

    it('denies _entities itself when the subgraph does not allow it', async () => {
      const closed = applyPermissions(schema, { Query: { _service: allow } });
      const result = await graphql({
        schema: closed,
        source: nameOnly,
        contextValue: {},
        variableValues: { representations },
      });
      expect(result.data).toBeNull();
      expect(codes(result)).toEqual([['_entities', 'FORBIDDEN']]);
    });
  });

  it('leaves the resolvers of `allow` fields unwrapped and wraps every other field', () => {
    const fields = (s: typeof schema, type: string) => (s.getType(type) as GraphQLObjectType).getFields();
    const original = fields(schema, 'Query');
    const applied = fields(guarded, 'Query');
    for (const field of ['open', 'product', 'missing', '_service', '_entities']) {
      expect(applied[field]!.resolve).toBe(original[field]!.resolve);
    }
    for (const field of ['closed', 'unlisted', 'signedIn', 'admin']) {
      expect(applied[field]!.resolve).not.toBe(original[field]!.resolve);
    }
    // A type's '*' rule reaches every field without a rule of its own; `cost` has one.
    expect(fields(guarded, 'Product').name!.resolve).toBe(fields(schema, 'Product').name!.resolve);
    expect(fields(guarded, 'Product').cost!.resolve).not.toBe(fields(schema, 'Product').cost!.resolve);
  });

  it('rejects two different rules with the same name', () => {
    const a = rule('same')(() => true);
    const b = rule('same')(() => true);
    expect(() => applyPermissions(schema, { Query: { open: a, closed: b } })).toThrow(/same/);
  });
});
