import { describe, expect, it } from '@jest/globals';
import { buildSchema, printSchema } from 'graphql';
import { readQueryLimits } from '../../../shared/graphql/limits/config.ts';
import { CompiledSubscriptions } from './compiled-cache.ts';
import { RefusedSubscription, compileSubscription } from './operation.ts';

const schema = buildSchema(`
  type Order { id: ID! status: String! statusSequence: Int! related(first: Int): [Order!]! }
  type Query { order(id: ID!): Order  orderAt(id: ID!, sequence: Int!): Order }
  type Subscription { orderStatusChanged(orderId: ID!, afterSequence: Int): Order! }
`);
const QUERY = 'subscription Live($id: ID!) { orderStatusChanged(orderId: $id) { id status } }';
const A = '0b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a10';
const B = '1b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a11';

describe('CompiledSubscriptions', () => {
  it('compiles a text once and binds each request to its own variables', () => {
    const cache = new CompiledSubscriptions(readQueryLimits({}));
    const a = cache.prepare(schema, { query: QUERY, variables: { id: A } });
    const b = cache.prepare(schema, { query: QUERY, variables: { id: B } });
    expect(b.document).toBe(a.document);
    expect(b.currentQuery).toBe(a.currentQuery);
    expect([a.orderId, b.orderId]).toEqual([A, B]);
    expect(b.variables).toEqual({ id: B });
    // Another schema (a reloaded supergraph) compiles anew.
    const other = cache.prepare(buildSchema(printSchema(schema)), { query: QUERY, variables: { id: A } });
    expect(other.document).not.toBe(a.document);
  });

  it('still checks what depends on the variables, and refuses the same bad text every time', () => {
    const cache = new CompiledSubscriptions(readQueryLimits({}));
    cache.prepare(schema, { query: QUERY, variables: { id: A } });
    const refusal = (request: Parameters<CompiledSubscriptions['prepare']>[1]) => {
      try {
        cache.prepare(schema, request);
      } catch (err) {
        if (err instanceof RefusedSubscription) return err.errors.map((e) => e.extensions.code);
        throw err;
      }
      return [];
    };
    expect(refusal({ query: QUERY, variables: { id: 'orders.>' } })).toEqual(['NOT_FOUND']);
    expect(refusal({ query: QUERY, variables: {} })).toEqual(['BAD_USER_INPUT']);
    // The operation name is part of the key: a name the text lacks is refused, not served from the cache.
    expect(refusal({ query: QUERY, variables: { id: A }, operationName: 'Other' })).toEqual([
      'BAD_USER_INPUT',
    ]);
    for (let i = 0; i < 2; i += 1)
      expect(refusal({ query: 'subscription {', variables: {} })).toEqual(['BAD_USER_INPUT']);
  });

  it('measures a text against the limits once when no variable can change its size, else per request', () => {
    const limits = { ...readQueryLimits({}), maxCost: 100 };
    const cache = new CompiledSubscriptions(limits);
    // A list sized by a variable: each request is measured with its own.
    const sized =
      'subscription($id: ID!, $n: Int) { orderStatusChanged(orderId: $id) { id related(first: $n) { id } } }';
    expect(cache.prepare(schema, { query: sized, variables: { id: A, n: 5 } }).orderId).toBe(A);
    expect(() => cache.prepare(schema, { query: sized, variables: { id: B, n: 5000 } })).toThrow(
      RefusedSubscription,
    );
    expect(compileSubscription(schema, { query: sized }, limits).fixedMeasures).toBeUndefined();
    // Without one, the text is measured once, when it is compiled, and refused then if too large.
    expect(compileSubscription(schema, { query: QUERY }, limits).fixedMeasures).toMatchObject({
      aliases: 0,
      cost: 3,
    });
    expect(() => compileSubscription(schema, { query: QUERY }, { ...limits, maxCost: 2 })).toThrow(
      RefusedSubscription,
    );
  });
});
