// Rewrites a client's `orderStatusChanged` field into the two queries the gateway runs for it
// (see operation.ts for the shape of both): the client's alias, variables, directives and
// fragments kept, two hidden fields added under response keys the client's selection does not use.
import {
  Kind,
  print,
  type ArgumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from 'graphql';
import { scanDocument } from '../../../shared/graphql/limits/document-scan.ts';
import { batchTemplate, type BatchTemplate } from './first-state.ts';
import {
  collectFragmentNames,
  collectResponseKeys,
  freeName,
  hiddenField,
  usedVariables,
} from './selection.ts';

/** The client's subscription field, checked: it has a selection and an orderId argument. */
export interface SubscriptionField {
  readonly operation: OperationDefinitionNode;
  readonly field: FieldNode;
  readonly selectionSet: SelectionSetNode;
  readonly idArgument: ArgumentNode;
  readonly fragments: Map<string, FragmentDefinitionNode>;
}

export interface RewrittenSubscription {
  /** The client's response key for the field (its alias, or `orderStatusChanged`). */
  readonly responseKey: string;
  /** The current state: `order(id)` with the client's selection. */
  readonly currentQuery: string;
  /** The state after one change: `orderAt(id, sequence: $<sequenceVariable>)`. */
  readonly changeQuery: string;
  readonly sequenceVariable: string;
  /** Response keys of the hidden `statusSequence` and `status` fields. */
  readonly sequenceKey: string;
  readonly statusKey: string;
  /** The client's variables the two queries use. */
  readonly usedVariables: ReadonlySet<string>;
  /** Variables the field's selection and directives use (its arguments aside). */
  readonly selectionVariables: ReadonlySet<string>;
  readonly batch: BatchTemplate | undefined;
  /** Tokens of the current-state query, to keep a batch of them under the token limit. */
  readonly tokens: number;
}

/** What both queries share: the selection with the hidden fields, and what they keep. */
interface QueryParts {
  readonly source: SubscriptionField;
  readonly selectionSet: SelectionSetNode;
  readonly keptDefinitions: readonly VariableDefinitionNode[];
  readonly keptFragments: readonly FragmentDefinitionNode[];
}

const UNBOUNDED_SCAN = {
  maxTokens: Infinity,
  maxDirectives: Infinity,
  maxNesting: Infinity,
  maxFieldRepeats: Infinity,
};

export function rewriteSubscription(source: SubscriptionField): RewrittenSubscription {
  const { operation, field, fragments } = source;
  const taken = new Set<string>();
  collectResponseKeys(source.selectionSet, fragments, taken, new Set());
  const sequenceKey = freeName('__seq', taken);
  const statusKey = freeName('__status', taken);
  const variableNames = new Set((operation.variableDefinitions ?? []).map((d) => d.variable.name.value));
  const sequenceVariable = freeName('__seq', variableNames);
  // The queries keep only orderId of the field's arguments: a variable only afterSequence used
  // would be an unused variable there (invalid), and would split otherwise equal subscribers.
  const used = usedVariables(
    [source.idArgument, ...(field.directives ?? [])],
    source.selectionSet,
    fragments,
  );
  const selectionVariables = usedVariables(field.directives ?? [], source.selectionSet, fragments);
  const parts = queryParts(source, used, sequenceKey, statusKey);
  const currentRoot = rootField(parts, 'order', []);
  const currentQuery = printQuery(parts, currentRoot, []);
  const sequence = sequenceArgument(sequenceVariable);
  return {
    responseKey: field.alias?.value ?? field.name.value,
    currentQuery,
    changeQuery: printQuery(parts, rootField(parts, 'orderAt', [sequence.argument]), [sequence.definition]),
    sequenceVariable,
    sequenceKey,
    statusKey,
    usedVariables: used,
    selectionVariables,
    batch: batchTemplate({
      operation: queryOperation(parts, currentRoot, []),
      root: currentRoot,
      variableDefinitions: parts.keptDefinitions,
      fragments: parts.keptFragments,
      usedBySelection: selectionVariables,
    }),
    tokens: scanDocument(currentQuery, UNBOUNDED_SCAN).tokens,
  };
}

function queryParts(
  source: SubscriptionField,
  used: ReadonlySet<string>,
  sequenceKey: string,
  statusKey: string,
): QueryParts {
  const selectionSet: SelectionSetNode = {
    kind: Kind.SELECTION_SET,
    selections: [
      ...source.selectionSet.selections,
      hiddenField(sequenceKey, 'statusSequence'),
      hiddenField(statusKey, 'status'),
    ],
  };
  // Only the fragments the new operations still use (a fragment on Subscription is gone).
  const fragmentNames = new Set<string>();
  collectFragmentNames(selectionSet, source.fragments, fragmentNames);
  return {
    source,
    selectionSet,
    keptDefinitions: (source.operation.variableDefinitions ?? []).filter((d) =>
      used.has(d.variable.name.value),
    ),
    keptFragments: [...fragmentNames].map((name) => source.fragments.get(name)!),
  };
}

/** `<alias>: <rootName>(id: <the client's orderId>, ...extraArgs) <selection>`. */
function rootField(parts: QueryParts, rootName: string, extraArgs: readonly ArgumentNode[]): FieldNode {
  const { field, idArgument } = parts.source;
  return {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
    name: { kind: Kind.NAME, value: rootName },
    arguments: [{ ...idArgument, name: { kind: Kind.NAME, value: 'id' } }, ...extraArgs],
    directives: field.directives,
    selectionSet: parts.selectionSet,
  };
}

function queryOperation(
  parts: QueryParts,
  root: FieldNode,
  extraVars: readonly VariableDefinitionNode[],
): OperationDefinitionNode {
  return {
    kind: Kind.OPERATION_DEFINITION,
    operation: 'query' as OperationDefinitionNode['operation'],
    name: parts.source.operation.name,
    variableDefinitions: [...parts.keptDefinitions, ...extraVars],
    directives: [],
    selectionSet: { kind: Kind.SELECTION_SET, selections: [root] },
  };
}

function printQuery(
  parts: QueryParts,
  root: FieldNode,
  extraVars: readonly VariableDefinitionNode[],
): string {
  return print({
    kind: Kind.DOCUMENT,
    definitions: [queryOperation(parts, root, extraVars), ...parts.keptFragments],
  });
}

/** orderAt's `sequence: $<variable>` argument and the `$<variable>: Int!` it needs. */
function sequenceArgument(variable: string): {
  argument: ArgumentNode;
  definition: VariableDefinitionNode;
} {
  const value = { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: variable } } as const;
  return {
    argument: { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'sequence' }, value },
    definition: {
      kind: Kind.VARIABLE_DEFINITION,
      variable: value,
      type: {
        kind: Kind.NON_NULL_TYPE,
        type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'Int' } },
      },
    },
  };
}
