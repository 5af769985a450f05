// Pure measures of an operation, computed before it is planned: depth, aliases and cost.
// They walk the operation's selections against the schema; @skip and @include are ignored, so
// a measure is an upper bound of what could run.
//
// Linear in the document: each named fragment is measured once, the first time it is spread,
// and its figures are reused wherever it is spread again. Walking a spread at every use (as
// graphql-query-complexity and graphql-depth-limit do) costs 2^n for n levels of
// `fragment Fi on Query { ...Fi+1 ...Fi+1 }`. A fragment's figures do not depend on where it is
// spread: its fields are those of its own type condition, and variables are fixed per request.
// Sums and products saturate (see `saturate`), since such a document's true cost overflows.
//
// Introspection (`__schema`, `__type`) is left out of depth and cost: Sandbox's introspection
// query nests `ofType` a dozen levels and costs nothing to the subgraphs. `__typename` is a
// field like any other (the gateway plans every one). Aliases count everywhere, since aliasing
// is how one request asks for the same work many times.
import {
  Kind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

export function fragmentsOf(document: DocumentNode): Fragments {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

export interface Measures {
  /** Fields on the longest path: `{ me { id } }` has depth 2. */
  readonly depth: number;
  /** Fields whose response key differs from the field name, each fragment counted where spread. */
  readonly aliases: number;
  /** See `multiplier`: 1 per field, times `first` for what a paginated field selects. */
  readonly cost: number;
  /** `__schema` fields, each fragment counted where spread: each answers with the whole schema. */
  readonly schemaIntrospections: number;
}

/** With the nesting of selection sets below, which a reused fragment adds to where it is spread. */
interface Figures extends Measures {
  readonly height: number;
}

export interface AnalysisOptions {
  /** The multiplier of a paginated field whose `first` is neither given nor defaulted in the schema. */
  readonly defaultListSize: number;
  /** Selection sets nested in one another (fields, inline fragments and spreads alike). */
  readonly maxNesting: number;
}

export interface Analysis extends Measures {
  /** Selections visited: the work done, which grows with the document, not with its paths. */
  readonly visits: number;
  /** True when the selections nest deeper than `maxNesting` (the walk then stopped). */
  readonly tooNested: boolean;
}

const INTROSPECTION: ReadonlySet<string> = new Set(['__schema', '__type']);

const NONE: Figures = { depth: 0, aliases: 0, cost: 0, schemaIntrospections: 0, height: 0 };

/** Far above any budget, and still exact in a double: figures stop growing here. */
const SATURATION = Number.MAX_SAFE_INTEGER;
const saturate = (n: number): number => (n > SATURATION || Number.isNaN(n) ? SATURATION : n);

class TooNested extends Error {}

/** The figures of two selections side by side in one selection set. */
function beside(a: Figures, b: Figures): Figures {
  return {
    depth: Math.max(a.depth, b.depth),
    aliases: saturate(a.aliases + b.aliases),
    cost: saturate(a.cost + b.cost),
    schemaIntrospections: saturate(a.schemaIntrospections + b.schemaIntrospections),
    height: Math.max(a.height, b.height),
  };
}

/** Measures `operation`; each selection of the document is visited at most once. */
export function analyzeOperation(
  operation: OperationDefinitionNode,
  fragments: Fragments,
  schema: GraphQLSchema,
  variables: Readonly<Record<string, unknown>>,
  options: AnalysisOptions,
): Analysis {
  let visits = 0;
  // `null` while a fragment is being measured: a spread of it then is a cycle, which
  // validation refuses anyway; it counts as nothing rather than looping.
  const measured = new Map<string, Figures | null>();

  const fragment = (name: string, nesting: number): Figures => {
    const known = measured.get(name);
    if (known !== undefined) {
      if (known && nesting + known.height - 1 > options.maxNesting) throw new TooNested();
      return known ?? NONE;
    }
    const definition = fragments.get(name);
    if (!definition) return NONE;
    measured.set(name, null);
    const type = schema.getType(definition.typeCondition.name.value);
    const result = selectionSet(definition.selectionSet, compositeOrUndefined(type), nesting);
    measured.set(name, result);
    return result;
  };

  const selectionSet = (
    set: SelectionSetNode,
    parent: GraphQLCompositeType | undefined,
    nesting: number,
  ): Figures => {
    if (nesting > options.maxNesting) throw new TooNested();
    let figures = NONE;
    for (const selection of set.selections) {
      visits += 1;
      let inner: Figures;
      if (selection.kind === Kind.FIELD) {
        inner = field(selection, parent, nesting);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition && schema.getType(selection.typeCondition.name.value);
        const type = condition ? compositeOrUndefined(condition) : parent;
        inner = selectionSet(selection.selectionSet, type, nesting + 1);
      } else {
        inner = fragment(selection.name.value, nesting + 1);
      }
      figures = beside(figures, inner);
    }
    return { ...figures, height: figures.height + 1 };
  };

  const field = (node: FieldNode, parent: GraphQLCompositeType | undefined, nesting: number): Figures => {
    const aliased = node.alias && node.alias.value !== node.name.value ? 1 : 0;
    const definition = parent && 'getFields' in parent ? parent.getFields()[node.name.value] : undefined;
    const childType = definition ? compositeOrUndefined(getNamedType(definition.type)) : undefined;
    const below = node.selectionSet ? selectionSet(node.selectionSet, childType, nesting + 1) : NONE;
    const aliases = saturate(aliased + below.aliases);
    const schemaIntrospections = saturate(
      (node.name.value === '__schema' ? 1 : 0) + below.schemaIntrospections,
    );
    if (INTROSPECTION.has(node.name.value)) {
      return { depth: 0, aliases, cost: 0, schemaIntrospections, height: below.height };
    }
    return {
      height: below.height,
      depth: 1 + below.depth,
      aliases,
      schemaIntrospections,
      cost: saturate(1 + saturate(multiplier(node, parent, definition, variables, options) * below.cost)),
    };
  };

  try {
    const { depth, aliases, cost, schemaIntrospections } = selectionSet(
      operation.selectionSet,
      rootType(schema, operation),
      1,
    );
    return { depth, aliases, cost, schemaIntrospections, visits, tooNested: false };
  } catch (err) {
    if (err instanceof TooNested) {
      return { depth: 0, aliases: 0, cost: 0, schemaIntrospections: 0, visits, tooNested: true };
    }
    throw err;
  }
}

function compositeOrUndefined(type: unknown): GraphQLCompositeType | undefined {
  return isCompositeType(type) ? type : undefined;
}

export function rootType(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
): GraphQLCompositeType | undefined {
  if (operation.operation === 'mutation') return schema.getMutationType() ?? undefined;
  if (operation.operation === 'subscription') return schema.getSubscriptionType() ?? undefined;
  return schema.getQueryType() ?? undefined;
}

/**
 * A field that takes a `first` argument multiplies the cost of what is selected under it by
 * that argument (from the query, its variables, or the schema default):
 * `products(first: 50) { edges { node { id name } } }` costs 1 + 50 × (1 + 1 + 2) = 201.
 * A connection's `edges` are sized by the connection's `first`. Any other list without `first`
 * (an order's `items`, its `history`, a payment's `events`) counts as `defaultListSize`: taken
 * as one item, a page of 100 orders with their lines cost a hundredth of what it ran (an order
 * holds up to 100 lines). Its typical size rather than its largest keeps a page of orders with
 * their lines within the budget.
 */
function multiplier(
  field: FieldNode,
  parent: GraphQLCompositeType | undefined,
  definition: GraphQLField<unknown, unknown> | undefined,
  variables: Readonly<Record<string, unknown>>,
  options: AnalysisOptions,
): number {
  const argument = field.arguments?.find((arg) => arg.name.value === 'first');
  const declared = definition?.args.find((arg) => arg.name === 'first');
  if (!argument && !declared) {
    const list = definition !== undefined && isListType(getNullableType(definition.type));
    const edges = field.name.value === 'edges' && parent?.name.endsWith('Connection') === true;
    return list && !edges ? options.defaultListSize : 1;
  }
  let value: unknown;
  if (argument && declared) value = valueFromAST(argument.value, declared.type, variables);
  else if (argument?.value.kind === Kind.INT) value = Number(argument.value.value);
  else if (argument?.value.kind === Kind.VARIABLE) value = variables[argument.value.name.value];
  if (value === undefined || value === null) value = declared?.defaultValue;
  if (typeof value === 'number' && Number.isFinite(value)) return saturate(Math.max(1, Math.floor(value)));
  return options.defaultListSize;
}
