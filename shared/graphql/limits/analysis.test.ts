import { describe, expect, it } from '@jest/globals';
import { Kind, buildSchema, parse, visit, type OperationDefinitionNode } from 'graphql';
import { analyzeOperation, fragmentsOf } from './analysis.ts';

const schema = buildSchema(/* GraphQL */ `
  type Query {
    me: User
    products(first: Int = 20, after: String): ProductConnection!
    search(first: Int): [Product!]!
    node(id: ID!): Node
    tags: [String!]!
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

function measure(query: string, variables: Record<string, unknown> = {}, maxNesting = 64) {
  const document = parse(query);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
  )!;
  return analyzeOperation(operation, fragmentsOf(document), schema, variables, {
    defaultListSize: 20,
    maxNesting,
  });
}

/** `{...F0} fragment F0 on Query{...F1 ...F1} … fragment F<levels> on Query{__typename}` */
function repeatedFragments(levels: number): string {
  let document = '{...F0}';
  for (let i = 0; i < levels; i += 1) document += ` fragment F${i} on Query{...F${i + 1} ...F${i + 1}}`;
  return `${document} fragment F${levels} on Query{__typename}`;
}

function selectionsIn(query: string): number {
  let count = 0;
  visit(parse(query), {
    [Kind.FIELD]: () => void (count += 1),
    [Kind.INLINE_FRAGMENT]: () => void (count += 1),
    [Kind.FRAGMENT_SPREAD]: () => void (count += 1),
  });
  return count;
}

describe('the work done', () => {
  it('visits each selection of the document once, however often its fragment is spread', () => {
    for (const levels of [5, 10, 20, 40]) {
      const query = repeatedFragments(levels);
      // 2^levels paths lead to the last fragment; the walk takes 2 × levels + 2 steps.
      expect(measure(query).visits).toBe(selectionsIn(query));
      expect(measure(query).visits).toBe(2 * levels + 2);
    }
  });

  it('still sums every path: a fragment spread twice counts twice, saturating instead of overflowing', () => {
    expect(measure(repeatedFragments(10)).cost).toBe(2 ** 10);
    expect(measure(repeatedFragments(20)).cost).toBe(2 ** 20);
    expect(measure(repeatedFragments(2000), {}, 5000).cost).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reports selections nested deeper than allowed, fragments included', () => {
    const inline = (n: number) => `{${'...on Query{'.repeat(n)}__typename${'}'.repeat(n)}}`;
    expect(measure(inline(60)).tooNested).toBe(false);
    expect(measure(inline(70)).tooNested).toBe(true);
    // A fragment measured shallow first, then spread deep: its height is added where spread.
    const wrap = (n: number, inner: string) => `${'...on Query{'.repeat(n)}${inner}${'}'.repeat(n)}`;
    const hidden = `{ ...R ${wrap(40, '...R')} } fragment R on Query { ${wrap(40, '__typename')} }`;
    expect(measure(hidden).tooNested).toBe(true);
  });
});

describe('depth', () => {
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

  it('leaves introspection out, but not __typename', () => {
    expect(measure('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }').depth).toBe(
      0,
    );
    expect(measure('{ __typename me { __typename id } }').depth).toBe(2);
    expect(measure('{ __typename }').depth).toBe(1);
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

describe('aliases', () => {
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

describe('cost', () => {
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

  it('leaves introspection out of the cost, and counts each __schema wherever it is spread', () => {
    expect(measure('{ __schema { types { name } } me { id } }')).toMatchObject({
      cost: 2,
      schemaIntrospections: 1,
    });
    expect(
      measure(
        '{ a: __schema { ...S } ...Q } fragment Q on Query { b: __schema { ...S } } fragment S on __Schema { types { name } }',
      ).schemaIntrospections,
    ).toBe(2);
    expect(measure('{ __type(name: "User") { name } }').schemaIntrospections).toBe(0);
  });

  it("counts a list without first as the configured list size, a connection's edges as its first says", () => {
    // order 1 + items 1 + 20 × (id 1 + name 1)
    expect(measure('{ me { orders(first: 1) { edges { node { items { id name } } } } } }').cost).toBe(
      1 + 1 + 1 * (1 + 1 + (1 + 20 * 2)),
    );
    // A list of scalars selects nothing below it.
    expect(measure('{ tags }').cost).toBe(1);
  });
});
