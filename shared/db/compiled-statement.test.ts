import { describe, expect, it } from '@jest/globals';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Compilable,
} from 'kysely';
import { bind, shapeOf, Slot, slotsFor, templateOf } from './compiled-statement.ts';

interface Tables {
  stock: { product_id: string; warehouse: string; available: number; version: number };
  lines: { order_id: string; product_id: string; quantity: number; note: string | null };
}

// Compiles only; nothing is ever sent.
const db = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/** Compiled once with slots and bound, the statement must equal Kysely's own with the values. */
function expectSameAsKysely<V>(build: (values: V) => Compilable<unknown>, values: V) {
  const template = templateOf(build(slotsFor(values)).compile());
  const direct = build(values).compile();
  expect(template.sql).toBe(direct.sql);
  expect(bind(template, values)).toEqual(direct.parameters);
}

describe('compiled statements', () => {
  it('bind values and constants in the order Kysely compiles them', () => {
    const update = (p: { id: string; warehouse: string; available: number }) =>
      db
        .updateTable('stock')
        .set((eb) => ({ available: p.available, version: eb('version', '+', 1) }))
        .where('product_id', '=', p.id)
        .where('warehouse', '=', p.warehouse);
    expectSameAsKysely(update, { id: 'a', warehouse: 'w1', available: 3 });
    expectSameAsKysely(update, { id: 'b', warehouse: 'w2', available: 0 });
  });

  it('bind a list of values as one array, whatever its length', () => {
    const find = (p: { ids: readonly string[] }) =>
      db
        .selectFrom('stock')
        .selectAll()
        .where('product_id', '=', (eb) => eb.fn.any(eb.val(p.ids)));
    const template = templateOf(find(slotsFor({ ids: ['x'] })).compile());
    expect(template.sql).toContain('any($1)');
    expect(bind(template, { ids: ['a', 'b', 'c'] })).toEqual([['a', 'b', 'c']]);
    expect(shapeOf({ ids: ['a'] })).toBe(shapeOf({ ids: ['a', 'b', 'c'] }));
  });

  it('compile a list of rows once per length, in a CTE too', () => {
    const insert = (p: { orderId: string; lines: Tables['lines'][] }) =>
      db
        .with('new_lines', (q) => q.insertInto('lines').values(p.lines))
        .updateTable('stock')
        .set({ version: 2 })
        .where('product_id', '=', p.orderId);
    const line = (n: number) => ({ order_id: 'o', product_id: `p${n}`, quantity: n, note: null });
    expectSameAsKysely(insert, { orderId: 'o', lines: [line(1), line(2)] });
    expect(shapeOf({ orderId: 'o', lines: [line(1)] })).not.toBe(
      shapeOf({ orderId: 'o', lines: [line(1), line(2)] }),
    );
  });

  it('leave undefined values out of the shape, as Kysely leaves their columns out', () => {
    const insert = (row: Tables['lines'] | Omit<Tables['lines'], 'note'>) =>
      db.insertInto('lines').values(row);
    const full = { order_id: 'o', product_id: 'p', quantity: 1, note: 'n' };
    const partial = { order_id: 'o', product_id: 'p', quantity: 1, note: undefined };
    expectSameAsKysely(insert, partial);
    expect(shapeOf(partial)).not.toBe(shapeOf(full));
    expect(shapeOf({ ...full, note: null })).toBe(shapeOf(full));
    expect(slotsFor(partial)).not.toHaveProperty('note');
  });

  it('take Dates and byte arrays as values, not rows', () => {
    const at = new Date(0);
    const slots = slotsFor({ at, bytes: new Uint8Array([1]) });
    expect(slots.at).toBeInstanceOf(Slot);
    expect(slots.bytes).toBeInstanceOf(Slot);
    expect(shapeOf({ at })).toBe('{at:.,}');
  });

  it('refuse to be converted while a statement is built', () => {
    const { id } = slotsFor({ id: 'a' });
    expect(() => `${id}`).toThrow(/"id" was converted to a primitive/);
    expect(() => JSON.stringify({ id })).toThrow(/converted to JSON/);
    expect(() => [...(slotsFor({ ids: ['a'] }).ids as unknown as Iterable<unknown>)]).toThrow(/iterated/);
  });
});
