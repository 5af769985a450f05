// Statements compiled once per shape, then only bound. Building a statement with Kysely through
// MikroORM's plugin (property names to columns, values converted as the entities say) rewrites the
// whole query tree on every call, which cost more client CPU than the statement's round trip.
// Kysely has no prepared-statement API (a compiled query holds its values), so this is our own:
// the statement is built and compiled once with a stand-in (`Slot`) for each value, the slots'
// positions among the compiled parameters are recorded, and each call sends the cached SQL text
// with its own values in those positions. This module holds the pure parts; store.ts runs them.
//
// A shape is what changes the SQL text: which keys of the values are defined (Kysely leaves an
// undefined value's column out, as before) and how many rows a list of rows has. Everything else
// is a value, bound as it is: a list of plain values binds as one PostgreSQL array (write
// `= any(...)`, never `in (...)`), so its length is not part of the shape.
import type { CompiledQuery } from 'kysely';

type Path = readonly (string | number)[];

/**
 * Stands in for one value while its statement is compiled. It refuses to become anything else,
 * so a statement that would convert or inspect a value while it is built (an entity type's
 * conversion, a spread, a comparison) fails when it is first compiled instead of binding a wrong
 * value ever after.
 */
export class Slot {
  readonly path: Path;

  constructor(path: Path) {
    this.path = path;
    Object.freeze(this);
  }

  toJSON(): never {
    throw this.#used('converted to JSON');
  }

  [Symbol.toPrimitive](): never {
    throw this.#used('converted to a primitive');
  }

  [Symbol.iterator](): never {
    throw this.#used('iterated');
  }

  #used(how: string): Error {
    return new Error(
      `store statement: the value at "${this.path.join('.')}" was ${how} while the statement was built; ` +
        'a compiled statement can only bind values as they are',
    );
  }
}

/** A row (keys are columns or nested values), as opposed to a value bound as it is. */
function isRow(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !ArrayBuffer.isView(value)
  );
}

/** A non-empty list of rows; any other array is one value (a PostgreSQL array). */
function isRowList(value: unknown): value is readonly Record<string, unknown>[] {
  return Array.isArray(value) && value.length > 0 && value.every(isRow);
}

/** What of `values` decides the SQL text: its defined keys, in order, and its lists' lengths. */
export function shapeOf(values: unknown): string {
  if (isRowList(values)) return `[${values.map(shapeOf).join(',')}]`;
  if (!isRow(values)) return '.';
  let shape = '{';
  for (const key in values) {
    const value = values[key];
    if (value !== undefined) shape += `${key}:${shapeOf(value)},`;
  }
  return `${shape}}`;
}

/** `values` with every value replaced by a Slot naming where it is; undefined ones left out. */
export function slotsFor<V>(values: V, path: Path = []): V {
  if (isRowList(values)) return values.map((row, i) => slotsFor(row, [...path, i])) as V;
  if (!isRow(values)) return new Slot(path) as V;
  const slots: Record<string, unknown> = {};
  for (const key in values) {
    if (values[key] !== undefined) slots[key] = slotsFor(values[key], [...path, key]);
  }
  return slots as V;
}

/** Where each compiled parameter comes from: a value of the call, or a constant of the statement. */
type Source = { readonly path: Path } | { readonly constant: unknown };

export interface StatementTemplate {
  readonly sql: string;
  readonly sources: readonly Source[];
}

/**
 * Records where each of the compiled parameters comes from. Kysely's compiler emits parameters in
 * the order it walks the (plugin-transformed) tree, which depends only on the tree, so a tree of
 * the same shape puts the same value at the same position on every call.
 */
export function templateOf(compiled: CompiledQuery): StatementTemplate {
  return {
    sql: compiled.sql,
    sources: compiled.parameters.map((parameter) =>
      parameter instanceof Slot ? { path: parameter.path } : { constant: parameter },
    ),
  };
}

/** The parameters of one call, in the template's order. */
export function bind(template: StatementTemplate, values: unknown): unknown[] {
  return template.sources.map((source) => {
    if ('constant' in source) return source.constant;
    let value = values;
    for (const step of source.path) value = (value as Record<string | number, unknown>)[step];
    return value;
  });
}
