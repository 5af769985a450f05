import { describe, expect, it } from '@jest/globals';
import { buildSchema } from 'graphql';
import { repeatedFragments } from './document-attacks.ts';
import { generateProbe } from './generator.ts';
import type { World } from './probe.ts';
import { Random } from './random.ts';

const world: World = {
  schema: buildSchema(`
    type Query { product(id: ID!): Product  products(first: Int): [Product!]!  me: User }
    type Mutation { login(email: String!, password: String!): String }
    type Subscription { orderStatusChanged(orderId: ID!): Order! }
    type Product { id: ID!  name: String! }
    type User { id: ID!  orders: [Order!]! }
    type Order { id: ID!  customer: User! }
  `),
  productIds: ['p1'],
  orderIds: ['o1'],
  userIds: ['u1'],
  subgraphs: ['users', 'products'],
};

describe('the fuzz generator', () => {
  it('gives the same probe for the same seed and index, whatever was generated before', () => {
    const first = Array.from({ length: 200 }, (_, i) => generateProbe(7, i, world));
    expect(generateProbe(7, 150, world)).toEqual(first[150]);
    expect(generateProbe(8, 150, world)).not.toEqual(first[150]);
  });

  it('covers every transport', () => {
    const probes = Array.from({ length: 500 }, (_, i) => generateProbe(1, i, world));
    const kinds = new Set(probes.map((p) => (p.transport === 'ws' ? 'ws' : p.stream ? 'sse' : 'http')));
    expect(kinds).toEqual(new Set(['ws', 'sse', 'http']));
  });

  it('builds the repeated-fragment document of the issue', () => {
    expect(repeatedFragments(2)).toBe(
      '{ ...F0 } fragment F0 on Query { ...F1 ...F1 } fragment F1 on Query { ...F2 ...F2 } fragment F2 on Query { __typename }',
    );
  });

  it('draws numbers in range, reproducibly', () => {
    const a = new Random(42);
    const b = new Random(42);
    const drawn = Array.from({ length: 100 }, () => a.int(3, 5));
    expect(drawn).toEqual(Array.from({ length: 100 }, () => b.int(3, 5)));
    expect(new Set(drawn)).toEqual(new Set([3, 4, 5]));
  });
});
