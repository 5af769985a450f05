import { describe, expect, it } from '@jest/globals';
import { parse, print } from 'graphql';
import type { Identity } from '../../../shared/auth/identity.ts';
import { DEFAULT_LIMITS, orderSchema } from '../../../test/support/order-subscription.ts';
import { CompiledSubscriptions } from './compiled-cache.ts';
import type { Execute, LiveResult } from './engine.ts';
import { FirstStateReader } from './first-state.ts';

const schema = orderSchema;
const LIMITS = DEFAULT_LIMITS;
const QUERY = `subscription Live($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, afterSequence: $after) { id note } }`;
const ids = [
  '0b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a10',
  '1b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a11',
  '2b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a12',
];
const ada: Identity = { userId: 'ada', role: 'CUSTOMER', token: 'ada-token', expiresAt: 2e9 };
const bob: Identity = { userId: 'bob', role: 'CUSTOMER', token: 'bob-token', expiresAt: 2e9 };

interface Call {
  readonly query: string;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly identity: Identity;
}

/** An executor that records each query and answers with `answer` (every order it was asked for, by default). */
function recording(answer?: (call: Call) => LiveResult): { execute: Execute; calls: Call[] } {
  const calls: Call[] = [];
  const execute: Execute = async (query, variables, identity) => {
    const call = { query, variables, identity };
    calls.push(call);
    if (answer) return answer(call);
    const data: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(variables))
      if (name.startsWith('__id')) data[`o${name.slice(4)}`] = { id: value, note: identity.userId };
    if ('id' in variables) data.orderStatusChanged = { id: variables.id, note: identity.userId };
    return { data };
  };
  return { execute, calls };
}

const compiled = new CompiledSubscriptions(LIMITS);
const prepare = (id: string, after?: number) =>
  compiled.prepare(schema, { query: QUERY, variables: { id, after }, operationName: 'Live' });

describe('FirstStateReader', () => {
  it("reads one user's orders requested together in one query, and each gets its own order", async () => {
    const { execute, calls } = recording();
    let queries = 0;
    const reader = new FirstStateReader(execute, () => (queries += 1));
    // afterSequence is not part of the query: resuming and fresh subscribers read together.
    const results = await Promise.all(
      ids.map((id, i) => reader.read(prepare(id, i === 1 ? 2 : undefined), ada)),
    );
    expect(queries).toBe(1);
    expect(calls).toHaveLength(1);
    expect(print(parse(calls[0]!.query))).toBe(
      print(
        parse(`query Live($__id0: ID!, $__id1: ID!, $__id2: ID!) {
          o0: order(id: $__id0) { id note __seq: statusSequence __status: status }
          o1: order(id: $__id1) { id note __seq: statusSequence __status: status }
          o2: order(id: $__id2) { id note __seq: statusSequence __status: status }
        }`),
      ),
    );
    expect(calls[0]!.variables).toEqual({ __id0: ids[0], __id1: ids[1], __id2: ids[2] });
    expect(results).toEqual(ids.map((id) => ({ data: { orderStatusChanged: { id, note: 'ada' } } })));
  });

  it('never puts two users in one query', async () => {
    const { execute, calls } = recording();
    const reader = new FirstStateReader(execute, () => undefined);
    const [adas, bobs] = await Promise.all([
      reader.read(prepare(ids[0]!), ada),
      reader.read(prepare(ids[1]!), bob),
    ]);
    expect(calls.map((c) => c.identity.userId).sort()).toEqual(['ada', 'bob']);
    expect(adas).toEqual({ data: { orderStatusChanged: { id: ids[0], note: 'ada' } } });
    expect(bobs).toEqual({ data: { orderStatusChanged: { id: ids[1], note: 'bob' } } });
  });

  it('gives each member the errors on its own path, re-rooted, and a missing order as null', async () => {
    const { execute } = recording(() => ({
      data: { o0: null, o1: { id: ids[1], note: null } },
      errors: [
        { message: 'note failed', path: ['o1', 'note'] },
        { message: 'the whole request', extensions: { code: 'X' } },
      ],
    }));
    const reader = new FirstStateReader(execute, () => undefined);
    const [missing, partial] = await Promise.all([
      reader.read(prepare(ids[0]!), ada),
      reader.read(prepare(ids[1]!), ada),
    ]);
    expect(missing).toEqual({
      data: { orderStatusChanged: null },
      errors: [{ message: 'the whole request', extensions: { code: 'X' } }],
    });
    expect(partial).toEqual({
      data: { orderStatusChanged: { id: ids[1], note: null } },
      errors: [
        { message: 'note failed', path: ['orderStatusChanged', 'note'] },
        { message: 'the whole request', extensions: { code: 'X' } },
      ],
    });
  });

  it('reads each order alone when the batch fails as a whole', async () => {
    const { execute, calls } = recording((call) =>
      call.query.includes('o1:')
        ? { errors: [{ message: 'too complex', extensions: { code: 'QUERY_TOO_COMPLEX' } }] }
        : { data: { orderStatusChanged: { id: call.variables.id, note: 'alone' } } },
    );
    const reader = new FirstStateReader(execute, () => undefined);
    const results = await Promise.all(ids.slice(0, 2).map((id) => reader.read(prepare(id), ada)));
    expect(calls).toHaveLength(3);
    expect(results).toEqual(
      ids.slice(0, 2).map((id) => ({ data: { orderStatusChanged: { id, note: 'alone' } } })),
    );
  });

  it('does not batch beyond the query limits, nor an order id given as a literal', async () => {
    const { execute, calls } = recording();
    const reader = new FirstStateReader(execute, () => undefined);
    const strict = new CompiledSubscriptions({ ...LIMITS, maxAliases: 5 });
    await Promise.all(
      ids.map((id) =>
        reader.read(strict.prepare(schema, { query: QUERY, variables: { id }, operationName: 'Live' }), ada),
      ),
    );
    expect(calls).toHaveLength(3);
    const literal = (id: string) =>
      compiled.prepare(schema, { query: `subscription { orderStatusChanged(orderId: "${id}") { id } }` });
    expect(literal(ids[0]!).batch).toBeUndefined();
  });
});
