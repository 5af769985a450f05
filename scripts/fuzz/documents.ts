// Operations built from the real schema: a root field with its arguments and a selection of
// the fields below it, as a plain valid operation or mutated the way a careless or hostile
// client would (wrong or missing arguments, wrong variable types, nulls, huge strings,
// control characters, unknown names, mismatched operationName).
import {
  getNamedType,
  isCompositeType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
} from 'graphql';
import type { World } from './probe.ts';
import type { Random } from './random.ts';
import { hostileValue, isRequired, validValue, type Value } from './values.ts';

/** A GraphQL request as a client sends it (fields may be of the wrong type on purpose). */
export interface Operation {
  readonly query?: unknown;
  readonly variables?: unknown;
  readonly operationName?: unknown;
  readonly extensions?: unknown;
}

export type RootKind = 'query' | 'mutation' | 'subscription';

export interface BuildOptions {
  readonly root: RootKind;
  /** Chance that an argument is passed as a variable rather than inline. */
  readonly variableChance: number;
  /** Chance that a value is hostile rather than plausible. */
  readonly hostileChance: number;
  /** Selection depth below the root field. */
  readonly maxDepth: number;
}

interface Builder {
  readonly r: Random;
  readonly world: World;
  readonly options: BuildOptions;
  readonly declarations: string[];
  readonly variables: Record<string, unknown>;
}

export function rootType(world: World, root: RootKind): GraphQLObjectType | undefined {
  const schema = world.schema;
  return root === 'query'
    ? (schema.getQueryType() ?? undefined)
    : root === 'mutation'
      ? (schema.getMutationType() ?? undefined)
      : (schema.getSubscriptionType() ?? undefined);
}

/** One operation on a random root field of `root`, named `Op<n>` half the time. */
export function buildOperation(
  r: Random,
  world: World,
  options: BuildOptions,
): Operation & { query: string } {
  const type = rootType(world, options.root);
  if (!type) return { query: '{ __typename }' };
  const builder: Builder = { r, world, options, declarations: [], variables: {} };
  const fields = Object.values(type.getFields());
  const picked = Array.from({ length: options.root === 'subscription' ? 1 : r.int(1, 2) }, () =>
    r.pick(fields),
  );
  const body = picked.map((field, i) => fieldText(builder, field, 0, i > 0 ? `f${i}` : undefined)).join(' ');
  // Names are new every time: whatever keeps one entry per client-chosen name grows in the run.
  const name = r.chance(0.5) ? `Op${r.hex(8)}` : undefined;
  const head = `${options.root}${name ? ` ${name}` : ''}${builder.declarations.length ? `(${builder.declarations.join(', ')})` : ''}`;
  const operation: Operation & { query: string } = {
    query: `${head} { ${body} }`,
    ...(Object.keys(builder.variables).length ? { variables: builder.variables } : {}),
    ...(name && r.chance(0.5) ? { operationName: name } : {}),
  };
  return operation;
}

function fieldText(b: Builder, field: GraphQLField<unknown, unknown>, depth: number, alias?: string): string {
  const args = field.args
    .filter((arg) => isRequired(arg.type) || b.r.chance(0.4))
    .map((arg) => argumentText(b, arg))
    .filter((text) => text !== '');
  const named = getNamedType(field.type);
  const head = `${alias ? `${alias}: ` : ''}${field.name}${args.length ? `(${args.join(', ')})` : ''}`;
  if (isLeafType(named) || !isCompositeType(named)) return head;
  return `${head} { ${selection(b, named, depth + 1)} }`;
}

function selection(b: Builder, type: GraphQLCompositeType, depth: number): string {
  if (!isObjectType(type) && !isInterfaceType(type)) return '__typename';
  const fields = Object.values(type.getFields());
  const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)));
  const pool = depth >= b.options.maxDepth ? leaves : fields;
  if (pool.length === 0) return '__typename';
  const count = b.r.int(1, Math.min(4, pool.length));
  const chosen = new Set(Array.from({ length: count }, () => b.r.pick(pool)));
  return [...chosen].map((f) => fieldText(b, f, depth)).join(' ');
}

function argumentText(b: Builder, arg: GraphQLArgument): string {
  const { r, options } = b;
  // Now and then a required argument goes missing, or an unknown one appears.
  if (isRequired(arg.type) && r.chance(options.hostileChance * 0.2)) return '';
  const hostile = r.chance(options.hostileChance);
  const value: Value = hostile ? hostileValue(arg.type, r, b.world) : validValue(arg.type, r, b.world);
  const extra = r.chance(options.hostileChance * 0.1) ? `, unknownArgument${r.int(0, 9)}: 1` : '';
  if (!r.chance(options.variableChance)) return `${arg.name}: ${value.literal}${extra}`;
  const name = `v${b.declarations.length}`;
  // The declared type is usually the argument's own; sometimes another (a validation error).
  const declared =
    hostile && r.chance(0.3) ? r.pick(['String', 'Int!', '[ID]', 'Boolean', 'Nope']) : String(arg.type);
  b.declarations.push(`$${name}: ${declared}`);
  if (!(hostile && r.chance(0.2))) b.variables[name] = value.json; // else: declared but not given
  return `${arg.name}: $${name}${extra}`;
}

/** Mutations applied to a whole request once it is built. */
export function mutateRequest(r: Random, operation: Operation & { query: string }): Operation {
  return r.weighted<() => Operation>([
    [() => operation, 5],
    [() => ({ ...operation, operationName: `Unknown${r.hex(8)}` }), 2],
    [() => ({ ...operation, query: `${operation.query} query Second { __typename }` }), 1],
    [
      () => ({
        ...operation,
        query: `${operation.query.replace(/^(query|mutation|subscription) \w+/, '$1')} query Other { __typename }`,
        operationName: undefined,
      }),
      1,
    ],
    [() => ({ ...operation, operationName: r.pick([1, true, {}, [], ''] as unknown[]) }), 1],
    [() => ({ ...operation, variables: r.pick(['{"a":1}', [1, 2], 7, true] as unknown[]) }), 1],
    [() => ({ ...operation, query: r.pick([7, null, {}, ['{ __typename }']] as unknown[]) }), 1],
    [() => ({ ...operation, variables: { ...(operation.variables as object), extra: '\u0000' } }), 1],
    [
      () => ({
        ...operation,
        extensions: r.pick([1, 'x', { persistedQuery: 'x' }, { a: null }] as unknown[]),
      }),
      1,
    ],
  ])();
}
