import { describe, expect, it } from '@jest/globals';
import { buildSchema, parse, print } from 'graphql';
import { readQueryLimits } from '../../../shared/graphql/limits/config.ts';
import { LiveStream } from './live-stream.ts';
import { RefusedSubscription, prepareSubscription } from './operation.ts';

const schema = buildSchema(`
  type Order { id: ID! status: String! statusSequence: Int! note: String }
  type Query { order(id: ID!): Order  orderAt(id: ID!, sequence: Int!): Order  me: String }
  type Subscription { orderStatusChanged(orderId: ID!, afterSequence: Int): Order!  other: String }
`);
const ID = '0b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a10';
const LIMITS = readQueryLimits({});

function codes(fn: () => unknown): unknown[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof RefusedSubscription) return err.errors.map((e) => e.extensions.code);
    throw err;
  }
  return [];
}

describe('prepareSubscription', () => {
  it('rewrites the subscription into order and orderAt queries with hidden fields', () => {
    const prepared = prepareSubscription(
      schema,
      {
        query: `subscription Live($id: ID!) { live: orderStatusChanged(orderId: $id) { status ...F } }
                fragment F on Order { note }`,
        variables: { id: ID },
      },
      LIMITS,
    );
    expect(prepared).toMatchObject({
      orderId: ID,
      responseKey: 'live',
      sequenceKey: '__seq',
      statusKey: '__status',
      operationName: 'Live',
    });
    expect(print(parse(prepared.currentQuery))).toBe(
      print(
        parse(`query Live($id: ID!) { live: order(id: $id) { status ...F __seq: statusSequence __status: status } }
               fragment F on Order { note }`),
      ),
    );
    expect(print(parse(prepared.changeQuery))).toBe(
      print(
        parse(`query Live($id: ID!, $__seq: Int!) {
                 live: orderAt(id: $id, sequence: $__seq) { status ...F __seq: statusSequence __status: status } }
               fragment F on Order { note }`),
      ),
    );
  });

  it('picks hidden names the client does not use, and drops fragments on Subscription', () => {
    const prepared = prepareSubscription(
      schema,
      {
        query: `subscription($__seq: ID!) { ...Root }
                fragment Root on Subscription { orderStatusChanged(orderId: $__seq) { __seq: id __status: note } }`,
        variables: { __seq: ID },
      },
      LIMITS,
    );
    expect(prepared.sequenceKey).toBe('__seq1');
    expect(prepared.statusKey).toBe('__status1');
    expect(prepared.sequenceVariable).toBe('__seq1');
    expect(prepared.changeQuery).not.toContain('Subscription');
    expect(prepared.responseKey).toBe('orderStatusChanged');
  });

  it('takes a literal order id', () => {
    const prepared = prepareSubscription(
      schema,
      { query: `subscription { orderStatusChanged(orderId: "${ID}") { id } }` },
      LIMITS,
    );
    expect(prepared.orderId).toBe(ID);
    expect(prepared.currentQuery).toContain(`order(id: "${ID}")`);
  });

  it('refuses with codes: bad documents, other operations, ids that cannot exist, size', () => {
    expect(codes(() => prepareSubscription(schema, { query: 'subscription {' }, LIMITS))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(() => prepareSubscription(schema, { query: '{ me }' }, LIMITS))).toEqual(['BAD_USER_INPUT']);
    expect(codes(() => prepareSubscription(schema, { query: 'subscription { other }' }, LIMITS))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(
      codes(() =>
        prepareSubscription(
          schema,
          { query: 'subscription($id: ID!) { orderStatusChanged(orderId: $id) { id } }', variables: {} },
          LIMITS,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      codes(() =>
        prepareSubscription(
          schema,
          {
            query: 'subscription($id: ID!) { orderStatusChanged(orderId: $id) { id } }',
            variables: { id: 'orders.>' },
          },
          LIMITS,
        ),
      ),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(() =>
        prepareSubscription(
          schema,
          { query: `subscription { orderStatusChanged(orderId: "${ID}") { id } }` },
          { ...LIMITS, maxQueryBytes: 20 },
        ),
      ),
    ).toEqual(['QUERY_TOO_COMPLEX']);
  });
});

describe('prepareSubscription with afterSequence', () => {
  const RESUME = `subscription Live($id: ID!, $after: Int) {
    orderStatusChanged(orderId: $id, afterSequence: $after) { status } }`;

  it('takes afterSequence from a variable and leaves it out of the queries it runs', () => {
    const prepared = prepareSubscription(schema, { query: RESUME, variables: { id: ID, after: 3 } }, LIMITS);
    expect(prepared.afterSequence).toBe(3);
    for (const query of [prepared.currentQuery, prepared.changeQuery]) {
      expect(query).not.toContain('after');
    }
    expect(print(parse(prepared.currentQuery))).toBe(
      print(
        parse(
          `query Live($id: ID!) { orderStatusChanged: order(id: $id) { status __seq: statusSequence __status: status } }`,
        ),
      ),
    );
    // Not part of what is executed, so not part of what subscribers share.
    expect(prepared.variables).toEqual({ id: ID });
  });

  it('reads a literal, and treats an absent or null afterSequence as none', () => {
    const literal = prepareSubscription(
      schema,
      { query: `subscription { orderStatusChanged(orderId: "${ID}", afterSequence: 0) { id } }` },
      LIMITS,
    );
    expect(literal.afterSequence).toBe(0);
    expect(literal.currentQuery).not.toContain('afterSequence');
    expect(
      prepareSubscription(schema, { query: RESUME, variables: { id: ID } }, LIMITS).afterSequence,
    ).toBeUndefined();
    expect(
      prepareSubscription(schema, { query: RESUME, variables: { id: ID, after: null } }, LIMITS)
        .afterSequence,
    ).toBeUndefined();
  });

  it('keeps a variable that the selection uses besides afterSequence', () => {
    const prepared = prepareSubscription(
      schema,
      {
        query: `subscription($id: ID!, $n: Int, $skip: Boolean!) {
          orderStatusChanged(orderId: $id, afterSequence: $n) { id note @skip(if: $skip) } }`,
        variables: { id: ID, n: 2, skip: false },
      },
      LIMITS,
    );
    expect(prepared.afterSequence).toBe(2);
    expect(prepared.variables).toEqual({ id: ID, skip: false });
    expect(prepared.currentQuery).toContain('$skip: Boolean!');
    expect(prepared.currentQuery).not.toContain('$n');
  });

  it('refuses a negative afterSequence with BAD_USER_INPUT', () => {
    expect(
      codes(() => prepareSubscription(schema, { query: RESUME, variables: { id: ID, after: -1 } }, LIMITS)),
    ).toEqual(['BAD_USER_INPUT']);
  });
});

describe('LiveStream', () => {
  it('yields what was pushed, ends after the queue drains, and closes once', async () => {
    let closed = 0;
    const stream = new LiveStream(() => (closed += 1));
    stream.push({ data: { a: 1 } });
    stream.push({ data: { a: 2 } });
    stream.end();
    const seen: unknown[] = [];
    for await (const value of stream) seen.push(value);
    expect(seen).toEqual([{ data: { a: 1 } }, { data: { a: 2 } }]);
    expect(closed).toBe(1);
  });

  it('ends a pending next() at once on return()', async () => {
    let closed = 0;
    const stream = new LiveStream(() => (closed += 1));
    const pending = stream.next();
    await stream.return();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
    stream.push({ data: {} });
    expect(stream.backlog).toBe(0);
  });
});
