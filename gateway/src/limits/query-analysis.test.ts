import { describe, expect, it } from '@jest/globals';
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { countAliases, fragmentsOf, queryCost, queryDepth } from './query-analysis.ts';

const schema = buildSchema(/* GraphQL */ `
  type Query {
    me: User
    products(first: Int = 20, after: String): ProductConnection!
    search(first: Int): [Product!]!
    node(id: ID!): Node
  }
  interface Node {
    id: ID!
  }
  type User implements Node {
    id: ID!
    name: String!
    orders(first: Int = 10): OrderConnection!
  }
  type Product implements Node {
    id: ID!
    name: String!
    price: Money!
  }
  type Money {
    amountCents: Int!
    currency: String!
  }
  type ProductConnection {
    edges: [ProductEdge!]!
    totalCount: Int!
  }
  type ProductEdge {
    node: Product!
  }
  type OrderConnection {
    edges: [OrderEdge!]!
  }
  type OrderEdge {
    node: Order!
  }
  type Order {
    id: ID!
    items: [Product!]!
  }
`);

function measure(query: string, variables: Record<string, unknown> = {}) {
  const document = parse(query);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
  )!;
  const fragments = fragmentsOf(document);
  return {
    depth: queryDepth(operation, fragments),
    aliases: countAliases(operation, fragments),
    cost: queryCost(operation, fragments, schema, variables, { defaultListSize: 20 }),
  };
}

describe('queryDepth', () => {
  it('counts the fields on the longest path', () => {
    expect(measure('{ me { id } }').depth).toBe(2);
    expect(measure('{ me { id orders { edges { node { items { name } } } } } }').depth).toBe(6);
  });

  it('looks through named and inline fragments', () => {
    const query = `
      query { me { ...Deep } }
      fragment Deep on User { orders { edges { node { ... on Order { items { price { currency } } } } } } }
    `;
    expect(measure(query).depth).toBe(7);
  });

  it('leaves introspection out', () => {
    expect(measure('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }').depth).toBe(
      0,
    );
    expect(measure('{ __typename me { __typename id } }').depth).toBe(2);
  });

  it('survives a fragment cycle (which validation would refuse) without looping', () => {
    const query = `
      query { me { ...A } }
      fragment A on User { id ...B }
      fragment B on User { name ...A }
    `;
    expect(measure(query).depth).toBe(2);
  });
});

describe('countAliases', () => {
  it('counts aliased fields at every level', () => {
    expect(measure('{ a: me { id } b: me { x: id y: name } }').aliases).toBe(4);
  });

  it('ignores an alias equal to the field name', () => {
    expect(measure('{ me: me { id: id } }').aliases).toBe(0);
  });

  it('counts a fragment every time it is spread', () => {
    const query = `
      query { me { ...F } again: me { ...F } }
      fragment F on User { n1: name n2: name }
    `;
    expect(measure(query).aliases).toBe(5);
  });

  it('counts aliases inside introspection too', () => {
    expect(measure('{ a: __typename b: __typename }').aliases).toBe(2);
  });
});

describe('queryCost', () => {
  it('costs 1 per field', () => {
    expect(measure('{ me { id name } }').cost).toBe(3);
  });

  it('multiplies by a literal first', () => {
    // 1 (products) + 50 × (edges 1 + node 1 + id 1 + name 1)
    expect(measure('{ products(first: 50) { edges { node { id name } } } }').cost).toBe(201);
  });

  it('reads first from variables', () => {
    const query = 'query ($n: Int) { products(first: $n) { totalCount } }';
    expect(measure(query, { n: 7 }).cost).toBe(8);
  });

  it("uses the schema's default when first is absent, else the configured list size", () => {
    expect(measure('{ products { totalCount } }').cost).toBe(21);
    expect(measure('query ($n: Int) { search(first: $n) { id } }').cost).toBe(21);
  });

  it('multiplies nested pages', () => {
    // me 1 + [orders 1 + 10 × (edges 1 + node 1 + id 1)] = 1 + 1 + 30
    expect(measure('{ me { orders { edges { node { id } } } } }').cost).toBe(32);
    expect(measure('{ me { orders(first: 100) { edges { node { id } } } } }').cost).toBe(302);
  });

  it('never lets a zero or negative first make a subtree free', () => {
    expect(measure('{ products(first: 0) { totalCount } }').cost).toBe(2);
    expect(measure('{ products(first: -5) { totalCount } }').cost).toBe(2);
  });

  it('counts fields under abstract types through their fragments', () => {
    expect(
      measure('{ node(id: "1") { id ... on User { orders(first: 2) { edges { node { id } } } } } }').cost,
    ).toBe(1 + 1 + 1 + 2 * 3);
  });

  it('leaves introspection out', () => {
    expect(measure('{ __schema { types { name } } me { id } }').cost).toBe(2);
  });
});
