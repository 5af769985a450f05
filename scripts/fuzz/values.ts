// Argument and variable values for a type of the schema: plausible ones (built from real ids
// and the strings the system expects), and hostile ones (wrong types, nulls, huge strings,
// control characters, deep nesting). Each value is kept both as a GraphQL literal (for the
// document) and as JSON (for variables).
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLInputType,
} from 'graphql';
import type { World } from './probe.ts';
import type { Random } from './random.ts';

export interface Value {
  /** As a GraphQL literal, e.g. `{ items: [{ productId: "…", quantity: 1 }] }`. */
  readonly literal: string;
  /** The same as JSON, for `variables`. */
  readonly json: unknown;
}

/** Characters a client should not send but can: NUL, other C0 controls, DEL, lone surrogates, BOM, noncharacters. */
export const CONTROL_CHARACTERS = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u001b',
  '\u001f',
  '\u007f',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\uffff',
  '\u2028',
];

const STRINGS = [
  '',
  'kitchen',
  'Blue mug',
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_flaky',
  'USD',
  'EUR',
  'main',
  'x',
];

export function literalOf(json: unknown): string {
  if (json === null || json === undefined) return 'null';
  if (typeof json === 'string') return JSON.stringify(json);
  if (typeof json === 'number') return Number.isFinite(json) ? String(json) : '1e999';
  if (typeof json === 'boolean') return String(json);
  if (Array.isArray(json)) return `[${json.map(literalOf).join(', ')}]`;
  if (json instanceof RawJson) return json.text.replace(/"a":/g, 'a: ');
  if (typeof json === 'object') {
    return `{ ${Object.entries(json as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${literalOf(v)}`)
      .join(', ')} }`;
  }
  return 'null';
}

/**
 * JSON text kept as text: values nested deeper than JSON.stringify can recurse (thousands of
 * levels) are written out directly; toJson() splices them into the request.
 */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** JSON.stringify that writes RawJson values as their text. */
export function toJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (!(v instanceof RawJson)) return v;
    raws.push(v.text);
    return `@@raw${raws.length - 1}@@`;
  });
  return raws.length === 0 ? text : text.replace(/"@@raw(\d+)@@"/g, (_m, i: string) => raws[Number(i)]!);
}

const plain = (json: unknown): Value => ({ literal: literalOf(json), json });

/** A value the type accepts (mostly: ids may name nothing, strings may break domain rules). */
export function validValue(type: GraphQLInputType, r: Random, world: World, depth = 0): Value {
  if (isNonNullType(type)) return validValue(type.ofType, r, world, depth);
  if (isListType(type)) {
    const items = Array.from({ length: r.int(1, 3) }, () => validValue(type.ofType, r, world, depth + 1));
    return { literal: `[${items.map((i) => i.literal).join(', ')}]`, json: items.map((i) => i.json) };
  }
  if (isEnumType(type)) {
    const value = r.pick(type.getValues()).name;
    return { literal: value, json: value };
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter(
      (f) => isNonNullType(f.type) || (depth < 3 && r.chance(0.5)),
    );
    const entries = fields.map((f) => [f.name, validValue(f.type, r, world, depth + 1)] as const);
    return {
      literal: `{ ${entries.map(([k, v]) => `${k}: ${v.literal}`).join(', ')} }`,
      json: Object.fromEntries(entries.map(([k, v]) => [k, v.json])),
    };
  }
  switch (getNamedType(type).name) {
    case 'ID':
      return plain(
        r.weighted<() => string>([
          [() => r.pick([...world.productIds, ...world.orderIds, ...world.userIds]), 6],
          [() => r.uuid(), 3],
          [() => r.pick(['1', 'abc', '-1', '00000000-0000-0000-0000-000000000000']), 1],
        ])(),
      );
    case 'Int':
      return plain(r.pick([0, 1, 2, 5, 20, 100, -1, 2147483647]));
    case 'Float':
      return plain(r.pick([0, 1.5, -2.25]));
    case 'Boolean':
      return plain(r.chance(0.5));
    case 'String':
      return plain(
        r.chance(0.2) ? `fuzz-${r.hex(8)}@example.com` : r.chance(0.3) ? `fuzz ${r.hex(6)}` : r.pick(STRINGS),
      );
    case 'DateTime':
      return plain(new Date(Date.UTC(2026, 0, 1) + r.int(0, 1e10)).toISOString());
    default:
      return plain(r.hex(6));
  }
}

/** Random text of `length` characters, with control characters mixed in when asked. */
export function noise(r: Random, length: number, controls = false): string {
  const parts: string[] = [];
  for (let i = 0; i < length; i += 1) {
    parts.push(
      controls && r.chance(0.2) ? r.pick(CONTROL_CHARACTERS) : String.fromCharCode(r.int(0x61, 0x7a)),
    );
  }
  return parts.join('');
}

/** A string holding control characters (NUL first, most often: it is what PostgreSQL refuses). */
export function controlString(r: Random): string {
  return r.pick(['\u0000', '\u0000x', `a\u0000b`, noise(r, r.int(1, 40), true)]);
}

/** `[[[…"x"…]]]` nested `depth` times. */
export function nestedList(depth: number, leaf: unknown = 'x'): Value {
  const literal = `${'['.repeat(depth)}${literalOf(leaf)}${']'.repeat(depth)}`;
  return { literal, json: new RawJson(`${'['.repeat(depth)}${JSON.stringify(leaf)}${']'.repeat(depth)}`) };
}

/** `{a:{a:{…}}}` nested `depth` times. */
export function nestedObject(depth: number): Value {
  const literal = `${'{ a: '.repeat(depth)}1${' }'.repeat(depth)}`;
  return { literal, json: new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) };
}

/** A value the type should refuse, or one that tests a limit. */
export function hostileValue(type: GraphQLInputType, r: Random, world: World): Value {
  const named = getNamedType(type);
  return r.weighted<() => Value>([
    [() => plain(null), 3],
    [() => plain(controlString(r)), 4],
    [() => plain('x'.repeat(r.pick([1_000, 30_000, 200_000]))), 2],
    [() => plain(r.pick([2147483648, -2147483649, 9007199254740992, 1.5, -0, 1e308])), 2],
    [() => plain(r.pick(['1', 'true', '', '{}'])), 2],
    [() => plain(r.pick([true, 0, 12])), 2],
    [() => plain({ nested: { value: 1 } }), 1],
    [() => plain([validValue(type, r, world).json, null]), 1],
    [() => nestedList(r.pick([10, 200, 3_000])), 1],
    [() => nestedObject(r.pick([10, 200, 2_000])), 1],
    [() => ({ literal: isEnumType(named) ? 'NOT_A_VALUE' : '$undeclared', json: 'NOT_A_VALUE' }), 1],
  ])();
}

export function isRequired(type: GraphQLInputType): boolean {
  return isNonNullType(type);
}
