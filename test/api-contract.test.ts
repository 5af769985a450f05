// The supergraph honours the public contract: every type, field, argument (with its default),
// enum value, input field and root operation in the SDL block of ../shared/API.md exists in the
// composed supergraph's API schema with exactly that type. Extensions beyond the contract are
// fine, as long as they cannot break a client written against it (no new required argument or
// input field). The contract is read from ../shared/API.md when it is beside the repository
// (as in CI), else from test/fixtures/api-contract.graphql, a copy that must stay identical.
// API.md's "Additions being built" block (test/fixtures/api-contract-additions.graphql) is read
// too: a field it names replaces the main block's (its type wins); a name only it has (a type,
// field, argument, enum value or input field not built yet) is not required, but once the
// supergraph has it, it is checked like the rest.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import {
  Kind,
  OperationTypeNode,
  astFromValue,
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isRequiredArgument,
  isRequiredInputField,
  isScalarType,
  isUnionType,
  parse,
  print,
  type GraphQLArgument,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type DocumentNode,
  type NameNode,
} from 'graphql';
import { composeSupergraph, readSubgraphSchemas } from '../scripts/compose-supergraph.ts';
import { REPO_ROOT, SUBGRAPHS, defaultSubgraphUrls } from '../scripts/lib/services.ts';

const LIVE_CONTRACT = path.resolve(REPO_ROOT, '..', 'shared', 'API.md');
const CONTRACT_COPY = path.join(REPO_ROOT, 'test', 'fixtures', 'api-contract.graphql');
const ADDITIONS_COPY = path.join(REPO_ROOT, 'test', 'fixtures', 'api-contract-additions.graphql');
/** The entities of the contract and their keys ("entity, key id" in API.md). */
const ENTITIES = ['User', 'Product', 'Order', 'Payment'];

/** The first ```graphql block of API.md. */
function contractSdl(markdown: string): string {
  const block = /```graphql\n([\s\S]*?)```/.exec(markdown);
  if (!block) throw new Error('API.md has no ```graphql block');
  return block[1]!;
}

/** The ```graphql block under "## Additions being built" in API.md. */
function additionsSdl(markdown: string): string {
  const block = /^## Additions being built[\s\S]*?```graphql\n([\s\S]*?)```/m.exec(markdown);
  if (!block) throw new Error('API.md has no ```graphql block under "## Additions being built"');
  return block[1]!;
}

let contract: GraphQLSchema;
/** Coordinates (`Type`, `Type.field`, `Type.field(arg`, `Enum.VALUE`) only the additions have. */
let notYetRequired: ReadonlySet<string>;
let supergraph: GraphQLSchema;
let supergraphSdl: string;

beforeAll(async () => {
  const copy = await readFile(CONTRACT_COPY, 'utf8');
  const additionsCopy = await readFile(ADDITIONS_COPY, 'utf8');
  const markdown = existsSync(LIVE_CONTRACT) ? await readFile(LIVE_CONTRACT, 'utf8') : undefined;
  const merged = mergeAdditions(
    markdown ? contractSdl(markdown) : copy,
    markdown ? additionsSdl(markdown) : additionsCopy,
  );
  contract = buildSchema(merged.sdl);
  notYetRequired = merged.added;

  // The same composition the gateway runs on (scripts/compose-supergraph.ts), kept as the
  // composition result so its API schema (what clients see, @inaccessible removed) is at hand.
  const sdls = await readSubgraphSchemas();
  const urls = defaultSubgraphUrls();
  const result = composeServices(
    SUBGRAPHS.map((name) => ({ name, url: urls[name], typeDefs: parse(sdls[name]) })),
  );
  if (result.errors) throw new Error(result.errors.map(String).join('\n'));
  supergraphSdl = result.supergraphSdl;
  expect(supergraphSdl).toBe(await composeSupergraph());
  supergraph = buildSchema(print(result.schema.toAPISchema().toAST()));
});

describe('the contract SDL', () => {
  it('has a checked-in copy identical to the live ../shared/API.md (when it is reachable)', async () => {
    const copy = await readFile(CONTRACT_COPY, 'utf8');
    if (!existsSync(LIVE_CONTRACT)) {
      // A clone without shared/ beside it: the copy is all there is.
      expect(copy).toContain('type Query');
      return;
    }
    expect(copy).toBe(contractSdl(await readFile(LIVE_CONTRACT, 'utf8')));
  });

  it('has a checked-in copy of the additions block identical to the live one (when reachable)', async () => {
    const copy = await readFile(ADDITIONS_COPY, 'utf8');
    if (!existsSync(LIVE_CONTRACT)) {
      expect(copy).toContain('type Product');
      return;
    }
    expect(copy).toBe(additionsSdl(await readFile(LIVE_CONTRACT, 'utf8')));
  });

  it('lets an addition replace a field of the main block and leaves names not built yet optional', () => {
    const merged = mergeAdditions(
      'type Query { a: Int!  b: String }',
      'type Query { a: Int  c(x: Int): Int }\ntype New { d: Int }',
    );
    expect(buildSchema(merged.sdl).getQueryType()?.getFields().a?.type.toString()).toBe('Int');
    expect([...merged.added].sort()).toEqual(['New', 'New.d', 'Query.c', 'Query.c(x']);
  });
});

describe('the supergraph API schema against the contract', () => {
  const named = () => Object.values(contract.getTypeMap()).filter((type) => !type.name.startsWith('__'));

  it('has the contract’s root operation types', () => {
    for (const operation of [
      OperationTypeNode.QUERY,
      OperationTypeNode.MUTATION,
      OperationTypeNode.SUBSCRIPTION,
    ]) {
      const expected = contract.getRootType(operation)?.name;
      expect({ operation, type: supergraph.getRootType(operation)?.name }).toEqual({
        operation,
        type: expected,
      });
    }
  });

  it('has every named type of the contract, of the same kind', () => {
    const missing = named().flatMap((type) => {
      const actual = supergraph.getType(type.name);
      if (!actual) return notYetRequired.has(type.name) ? [] : [`${type.name}: missing`];
      return kindOf(actual) === kindOf(type) ? [] : [`${type.name}: ${kindOf(actual)}, not ${kindOf(type)}`];
    });
    expect(missing).toEqual([]);
  });

  /** The contract's types of one kind, each with the supergraph's type of that name and kind. */
  function pairs<T extends GraphQLNamedType>(is: (type: unknown) => type is T): [T, T][] {
    return named().flatMap((type) => {
      const actual = supergraph.getType(type.name);
      return is(type) && is(actual) ? [[type, actual] as [T, T]] : [];
    });
  }

  /** Names the contract lists and the supergraph lacks. */
  function missing(
    where: string,
    expected: readonly { name: string }[],
    actual: readonly { name: string }[],
  ) {
    const present = new Set(actual.map((a) => a.name));
    return expected
      .filter((e) => !present.has(e.name) && !notYetRequired.has(`${where}${e.name}`))
      .map((e) => `${where}${e.name}: missing`);
  }

  it('has every field and argument of every object type, with exactly the contract’s types and defaults', () => {
    const problems: string[] = [];
    const isObjectLike = (type: unknown) => isObjectType(type) || isInterfaceType(type);
    for (const [type, actual] of pairs(isObjectLike as (t: unknown) => t is GraphQLObjectType)) {
      const actualFields = actual.getFields();
      for (const field of Object.values(type.getFields())) {
        const where = `${type.name}.${field.name}`;
        const found = actualFields[field.name];
        if (!found) {
          if (!notYetRequired.has(where)) problems.push(`${where}: missing`);
          continue;
        }
        if (String(found.type) !== String(field.type))
          problems.push(`${where}: ${String(found.type)}, not ${String(field.type)}`);
        problems.push(...compareValues(`${where}(`, field.args, found.args, isRequiredArgument));
      }
    }
    expect(problems).toEqual([]);
  });

  it('has every input field, with exactly the contract’s types and defaults, and no new required one', () => {
    const problems = pairs(isInputObjectType).flatMap(([type, actual]) =>
      compareValues(
        `${type.name}.`,
        Object.values(type.getFields()),
        Object.values(actual.getFields()),
        isRequiredInputField,
      ),
    );
    expect(problems).toEqual([]);
  });

  it('has every enum value and every union member', () => {
    const problems = [
      ...pairs(isEnumType).flatMap(([type, actual]) =>
        missing(`${type.name}.`, type.getValues(), actual.getValues()),
      ),
      ...pairs(isUnionType).flatMap(([type, actual]) =>
        missing(`${type.name} | `, type.getTypes(), actual.getTypes()),
      ),
    ];
    expect(problems).toEqual([]);
  });

  it('makes the contract’s entities resolvable by the key "id"', () => {
    const document = parse(supergraphSdl);
    const keys = (name: string) =>
      document.definitions.flatMap((definition) =>
        definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value === name
          ? (definition.directives ?? []).flatMap((directive) => {
              if (directive.name.value !== 'join__type') return [];
              const key = directive.arguments?.find((a) => a.name.value === 'key')?.value;
              const resolvable = directive.arguments?.find((a) => a.name.value === 'resolvable')?.value;
              const notResolvable = resolvable?.kind === Kind.BOOLEAN && !resolvable.value;
              return key?.kind === Kind.STRING && !notResolvable ? [key.value] : [];
            })
          : [],
      );
    for (const entity of ENTITIES)
      expect({ entity, keys: keys(entity) }).toEqual({ entity, keys: expect.arrayContaining(['id']) });
  });
});

function kindOf(type: GraphQLNamedType): string {
  if (isScalarType(type)) return 'scalar';
  if (isObjectType(type)) return 'type';
  if (isInterfaceType(type)) return 'interface';
  if (isUnionType(type)) return 'union';
  if (isEnumType(type)) return 'enum';
  return 'input';
}

/** The default as GraphQL source text (`20`, `"main"`), or undefined when there is none. */
function defaultOf(value: { defaultValue?: unknown; type: GraphQLInputType }): string | undefined {
  if (value.defaultValue === undefined) return undefined;
  const ast = astFromValue(value.defaultValue, value.type);
  return ast ? print(ast) : 'null';
}

/** Arguments or input fields: same names, types and defaults; extra ones must be optional. */
function compareValues<T extends GraphQLArgument | GraphQLInputField>(
  prefix: string,
  expected: readonly T[],
  actual: readonly T[],
  isRequired: (value: T) => boolean,
): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((value) => [value.name, value]));
  for (const value of expected) {
    const where = `${prefix}${value.name}`;
    const found = byName.get(value.name);
    if (!found) {
      if (!notYetRequired.has(where)) problems.push(`${where}: missing`);
      continue;
    }
    if (String(found.type) !== String(value.type))
      problems.push(`${where}: ${String(found.type)}, not ${String(value.type)}`);
    if (defaultOf(found) !== defaultOf(value))
      problems.push(`${where}: default ${defaultOf(found) ?? 'none'}, not ${defaultOf(value) ?? 'none'}`);
  }
  const known = new Set(expected.map((value) => value.name));
  for (const value of actual) {
    if (!known.has(value.name) && isRequired(value))
      problems.push(`${prefix}${value.name}: required, but not in the contract`);
  }
  return problems;
}

type Definition = DocumentNode['definitions'][number];
type Member = {
  readonly name: { readonly value: string };
  readonly arguments?: readonly { name: NameNode }[];
};

/** The fields, input fields or enum values of a type definition (none for scalars, unions). */
function membersOf(definition: Definition): readonly Member[] {
  if ('fields' in definition && definition.fields) return definition.fields as readonly Member[];
  if ('values' in definition && definition.values) return definition.values;
  return [];
}

function nameOf(definition: Definition): string | undefined {
  return 'name' in definition && definition.name ? definition.name.value : undefined;
}

/**
 * The main block with the additions laid over it: a member the additions name replaces the main
 * block's member of that name, a new one is appended, a new type is added. `added` lists every
 * coordinate only the additions have.
 */
function mergeAdditions(mainSdl: string, additions: string): { sdl: string; added: Set<string> } {
  const main = parse(mainSdl);
  const added = new Set<string>();
  const byName = new Map(main.definitions.map((d) => [nameOf(d), d]));
  const extra: Definition[] = [];
  for (const addition of parse(additions).definitions) {
    const name = nameOf(addition);
    const existing = name === undefined ? undefined : byName.get(name);
    if (!name || !existing) {
      if (name) added.add(name);
      for (const member of membersOf(addition)) {
        added.add(`${name}.${member.name.value}`);
        for (const arg of member.arguments ?? []) added.add(`${name}.${member.name.value}(${arg.name.value}`);
      }
      extra.push(addition);
      continue;
    }
    const members = new Map(membersOf(existing).map((m) => [m.name.value, m]));
    for (const member of membersOf(addition)) {
      const old = members.get(member.name.value);
      const where = `${name}.${member.name.value}`;
      if (!old) added.add(where);
      const oldArgs = new Set((old?.arguments ?? []).map((a) => a.name.value));
      for (const arg of member.arguments ?? [])
        if (!oldArgs.has(arg.name.value)) added.add(`${where}(${arg.name.value}`);
      members.set(member.name.value, member);
    }
    const key = 'fields' in existing ? 'fields' : 'values';
    byName.set(name, { ...existing, [key]: [...members.values()] } as Definition);
  }
  const definitions = [
    ...main.definitions.map((d) => (nameOf(d) ? byName.get(nameOf(d)) : d) ?? d),
    ...extra,
  ];
  return { sdl: print({ kind: Kind.DOCUMENT, definitions }), added };
}
