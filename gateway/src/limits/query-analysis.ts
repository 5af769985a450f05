// Pure measures of an operation, computed before it is planned: depth, aliases and cost.
// They walk the operation's selections (fragments expanded) against the schema; @skip and
// @include are ignored, so a measure is an upper bound of what could run.
//
// Introspection (`__schema`, `__type`) is left out of depth and cost: Sandbox's introspection
// query nests `ofType` a dozen levels and costs nothing to the subgraphs. Aliases count
// everywhere, since aliasing is how one request asks for the same work many times.
import {
  Kind,
  getNamedType,
  isCompositeType,
  valueFromAST,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type DocumentNode,
} from 'graphql';

export type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

export function fragmentsOf(document: DocumentNode): Fragments {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

/** Calls `visit` for every field directly in `selectionSet`, looking through fragments. */
function forEachField(
  selectionSet: SelectionSetNode,
  fragments: Fragments,
  visit: (field: FieldNode) => void,
  seen: ReadonlySet<string> = new Set(),
): void {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      visit(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      forEachField(selection.selectionSet, fragments, visit, seen);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // A cycle or an unknown fragment is a validation error; never loop on one here.
      if (!fragment || seen.has(name)) continue;
      forEachField(fragment.selectionSet, fragments, visit, new Set([...seen, name]));
    }
  }
}

function isIntrospection(field: FieldNode): boolean {
  return field.name.value.startsWith('__');
}

/** The number of fields on the longest path: `{ me { id } }` has depth 2. */
export function queryDepth(operation: OperationDefinitionNode, fragments: Fragments): number {
  const depthOf = (selectionSet: SelectionSetNode): number => {
    let deepest = 0;
    forEachField(selectionSet, fragments, (field) => {
      if (isIntrospection(field)) return;
      const below = field.selectionSet ? depthOf(field.selectionSet) : 0;
      deepest = Math.max(deepest, 1 + below);
    });
    return deepest;
  };
  return depthOf(operation.selectionSet);
}

/** Fields whose response key differs from the field name, each fragment counted where it is spread. */
export function countAliases(operation: OperationDefinitionNode, fragments: Fragments): number {
  const count = (selectionSet: SelectionSetNode): number => {
    let total = 0;
    forEachField(selectionSet, fragments, (field) => {
      if (field.alias && field.alias.value !== field.name.value) total += 1;
      if (field.selectionSet) total += count(field.selectionSet);
    });
    return total;
  };
  return count(operation.selectionSet);
}

export interface CostOptions {
  /** The multiplier of a paginated field whose `first` is neither given nor defaulted in the schema. */
  readonly defaultListSize: number;
}

/**
 * Every field costs 1; a field that takes a `first` argument multiplies the cost of what is
 * selected under it by that argument (from the query, its variables, or the schema default).
 * `products(first: 50) { edges { node { id name } } }` costs 1 + 50 × (1 + 1 + 2) = 201.
 * Lists without `first` (a connection's `edges`, an order's `items`) are sized by their parent.
 */
export function queryCost(
  operation: OperationDefinitionNode,
  fragments: Fragments,
  schema: GraphQLSchema,
  variables: Readonly<Record<string, unknown>>,
  options: CostOptions,
): number {
  const root = rootType(schema, operation);
  const costOf = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType | undefined): number => {
    let total = 0;
    forEachField(selectionSet, fragments, (field) => {
      if (isIntrospection(field)) return;
      const definition = parent && 'getFields' in parent ? parent.getFields()[field.name.value] : undefined;
      const childType = definition ? getNamedType(definition.type) : undefined;
      // Under an interface or union the fields come from the fragment's type condition; without
      // a definition at hand a field still costs 1 and its children are still counted.
      const below = field.selectionSet
        ? costOf(field.selectionSet, childType && isCompositeType(childType) ? childType : undefined)
        : 0;
      total += 1 + multiplier(field, definition, variables, options) * below;
    });
    return total;
  };
  return costOf(operation.selectionSet, root);
}

function rootType(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
): GraphQLCompositeType | undefined {
  if (operation.operation === 'mutation') return schema.getMutationType() ?? undefined;
  if (operation.operation === 'subscription') return schema.getSubscriptionType() ?? undefined;
  return schema.getQueryType() ?? undefined;
}

function multiplier(
  field: FieldNode,
  definition: GraphQLField<unknown, unknown> | undefined,
  variables: Readonly<Record<string, unknown>>,
  options: CostOptions,
): number {
  const argument = field.arguments?.find((arg) => arg.name.value === 'first');
  const declared = definition?.args.find((arg) => arg.name === 'first');
  if (!argument && !declared) {
    // A list field without `first` is not paginated here; its size is its parent's business.
    return 1;
  }
  let value: unknown;
  if (argument && declared) value = valueFromAST(argument.value, declared.type, variables);
  else if (argument?.value.kind === Kind.INT) value = Number(argument.value.value);
  else if (argument?.value.kind === Kind.VARIABLE) value = variables[argument.value.name.value];
  if (value === undefined || value === null) value = declared?.defaultValue;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.max(1, Math.floor(value));
  return options.defaultListSize;
}
