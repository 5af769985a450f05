// A client's `orderStatusChanged` subscription, checked and rewritten into the two queries the
// gateway runs for it through the supergraph:
//
//   subscription S($id: ID!) { live: orderStatusChanged(orderId: $id) { status ...F } }
// becomes
//   query S($id: ID!)               { live: order(id: $id) { status ...F  __seq: statusSequence  __status: status } }
//   query S($id: ID!, $__seqN: Int!) { live: orderAt(id: $id, sequence: $__seqN) { ...same } }
//
// The first gives the current state, the second the order as it was right after one status
// change. The client's alias, variables, directives and fragments are kept; the hidden fields
// get response keys that no selection of the client uses, and are stripped before sending.
//
// This file checks the operation and binds its variables; rewrite.ts builds the two queries.
import {
  GraphQLError,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { AppError, ErrorCode } from '../../../shared/errors.ts';
import { checkDocumentStrings, checkVariables } from '../../../shared/graphql/limits/input-guard.ts';
import {
  checkOperation,
  checkQueryText,
  type OperationMeasures,
  type QueryLimits,
} from '../limits/query-limits.ts';
import { isUuid } from '../../../shared/graphql/batch.ts';
import { ordersPerQuery, type BatchTemplate } from './first-state.ts';
import { invalidAfterSequence } from './resume.ts';
import { rewriteSubscription, type RewrittenSubscription } from './rewrite.ts';
import { fragmentMap, rootFields } from './selection.ts';

export const SUBSCRIPTION_FIELD = 'orderStatusChanged';

export interface SubscriptionRequest {
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly operationName?: string | null;
}

export interface PreparedSubscription {
  /** The client's operation, parsed and validated. */
  readonly document: DocumentNode;
  readonly orderId: string;
  /** The client's response key for the field (its alias, or `orderStatusChanged`). */
  readonly responseKey: string;
  /** The current state: `order(id)` with the client's selection. */
  readonly currentQuery: string;
  /** The state after one change: `orderAt(id, sequence: $<sequenceVariable>)`. */
  readonly changeQuery: string;
  readonly sequenceVariable: string;
  /** The client's variables that the two queries use (not the one only afterSequence used). */
  readonly variables: Readonly<Record<string, unknown>>;
  /** The client's `afterSequence` (0 or more): resume after it instead of the current state first. */
  readonly afterSequence: number | undefined;
  readonly operationName: string | undefined;
  /** Response keys of the hidden `statusSequence` and `status` fields. */
  readonly sequenceKey: string;
  readonly statusKey: string;
  /** How to read the current state of several orders in one query, if this one can. */
  readonly batch: BatchTemplate | undefined;
  /** Orders one such query may read within the gateway's query limits (below 2: no batching). */
  readonly batchSize: number;
}

export function requestError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

export class RefusedSubscription extends Error {
  override name = 'RefusedSubscription';
  readonly errors: readonly GraphQLError[];
  constructor(errors: readonly GraphQLError[]) {
    super(errors.map((e) => e.message).join('; '));
    this.errors = errors;
  }
}

const refuse = (code: ErrorCode, message: string): never => {
  throw new RefusedSubscription([requestError(code, message)]);
};

/** Runs a check of the shared limits, its AppError (and details: which limit) becoming a refusal. */
function limited<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new RefusedSubscription([
      new GraphQLError(err.message, { extensions: { ...err.details, code: err.code } }),
    ]);
  }
}

/**
 * What a subscription's text alone decides (parsed, validated, rewritten), shared by every
 * subscriber that sends the same text: only the variables differ between them.
 */
export interface CompiledSubscription extends RewrittenSubscription {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly field: FieldNode;
  readonly fieldDef: GraphQLField<unknown, unknown>;
  readonly operationName: string | undefined;
  /**
   * The operation's size against the limits when no variable can change it (its selection uses
   * none: only a variable's list size could), measured once with the text: measuring walks the
   * whole selection, and every subscriber of a text would otherwise walk it again. Undefined
   * when the variables decide it, and each request is measured with its own.
   */
  readonly fixedMeasures: OperationMeasures | undefined;
}

/**
 * Parses, validates against the supergraph's API schema and rewrites; throws
 * RefusedSubscription (BAD_USER_INPUT, NOT_FOUND, QUERY_TOO_COMPLEX) with what a client may see.
 */
export function prepareSubscription(
  schema: GraphQLSchema,
  request: SubscriptionRequest,
  limits: QueryLimits,
): PreparedSubscription {
  return bindSubscription(schema, compileSubscription(schema, request, limits), request, limits);
}

/**
 * The part of prepareSubscription that depends on the text and the operation name only (the
 * same checks, in the same order, as a query over HTTP: the text before it is parsed). Throws
 * RefusedSubscription.
 */
export function compileSubscription(
  schema: GraphQLSchema,
  request: SubscriptionRequest,
  limits: QueryLimits,
): CompiledSubscription {
  const { document, operation } = parseSubscription(schema, request, limits);
  limited(() => checkDocumentStrings(document));
  const fragments = fragmentMap(document);
  const roots = rootFields(operation.selectionSet, fragments);
  const field = roots[0];
  if (roots.length !== 1 || !field || field.name.value !== SUBSCRIPTION_FIELD) {
    return refuse(ErrorCode.BAD_USER_INPUT, `Only the ${SUBSCRIPTION_FIELD} subscription is served`);
  }
  const fieldDef = schema.getSubscriptionType()?.getFields()[SUBSCRIPTION_FIELD];
  if (!fieldDef || !field.selectionSet) {
    return refuse(ErrorCode.BAD_USER_INPUT, `${SUBSCRIPTION_FIELD} is not in the schema`);
  }
  const idArgument = field.arguments?.find((a) => a.name.value === 'orderId');
  if (!idArgument) return refuse(ErrorCode.BAD_USER_INPUT, 'orderId is required');
  const rewritten = rewriteSubscription({
    operation,
    field,
    selectionSet: field.selectionSet,
    idArgument,
    fragments,
  });
  return {
    document,
    operation,
    field,
    fieldDef,
    operationName: operation.name?.value,
    fixedMeasures:
      rewritten.selectionVariables.size === 0
        ? limited(() => checkOperation(document, operation, schema, {}, limits))
        : undefined,
    ...rewritten,
  };
}

/** Checks the text, parses it, validates it and picks the operation, which must be a subscription. */
function parseSubscription(
  schema: GraphQLSchema,
  request: SubscriptionRequest,
  limits: QueryLimits,
): { document: DocumentNode; operation: OperationDefinitionNode } {
  if (typeof request.query !== 'string' || request.query.length === 0) {
    refuse(ErrorCode.BAD_USER_INPUT, 'The subscription has no query');
  }
  limited(() => checkQueryText(request.query, limits));
  let document: DocumentNode;
  try {
    document = parse(request.query, { maxTokens: limits.maxTokens });
  } catch (err) {
    return refuse(ErrorCode.BAD_USER_INPUT, err instanceof GraphQLError ? err.message : 'Syntax error');
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0) {
    throw new RefusedSubscription(
      invalid.map(
        (e) =>
          // Suggestions ("Did you mean …") would reveal the schema with introspection off.
          new GraphQLError(e.message.replace(/ ?Did you mean(.+?)\?$/, ''), {
            nodes: e.nodes,
            source: e.source,
            positions: e.positions,
            extensions: { code: ErrorCode.BAD_USER_INPUT },
          }),
      ),
    );
  }
  const operation = getOperationAST(document, request.operationName ?? undefined);
  if (!operation) return refuse(ErrorCode.BAD_USER_INPUT, 'Unable to identify the operation');
  if (operation.operation !== 'subscription') {
    refuse(
      ErrorCode.BAD_USER_INPUT,
      'Only subscriptions are served here; send queries and mutations over HTTP POST /graphql',
    );
  }
  return { document, operation };
}

/**
 * How many current-state queries of this subscription fit in one within the gateway's limits,
 * which apply to the subscriptions' own queries too: each order adds its selection's cost and
 * aliases (the client's, plus the order's own and the two hidden fields) and its tokens.
 */
function batchSize(
  compiled: CompiledSubscription,
  measures: { readonly aliases: number; readonly cost: number },
  limits: QueryLimits,
): number {
  if (!compiled.batch) return 1;
  return ordersPerQuery(limits, {
    aliases: measures.aliases + 3,
    cost: measures.cost + 3,
    tokens: compiled.tokens + 10,
  });
}

/**
 * A compiled subscription with one request's variables: the checks that depend on them (the
 * limits, the order id, afterSequence). Throws RefusedSubscription.
 */
export function bindSubscription(
  schema: GraphQLSchema,
  compiled: CompiledSubscription,
  request: SubscriptionRequest,
  limits: QueryLimits,
): PreparedSubscription {
  const { document, operation, field, fieldDef, fixedMeasures } = compiled;
  limited(() => checkVariables(request.variables ?? undefined, operation.variableDefinitions));
  const measures =
    fixedMeasures ??
    limited(() => checkOperation(document, operation, schema, request.variables ?? {}, limits));
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], {
    ...request.variables,
  });
  if (coerced.errors) {
    throw new RefusedSubscription(
      coerced.errors.map(
        (e) =>
          new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT } }),
      ),
    );
  }
  const args = getArgumentValues(fieldDef, field, coerced.coerced);
  const orderId: unknown = args.orderId;
  // The id becomes part of a NATS subject: only a UUID may get there. Anything else cannot exist.
  if (!isUuid(orderId)) return refuse(ErrorCode.NOT_FOUND, `Order ${String(orderId)} was not found`);
  // Null, like an absent argument, means no resume (the client has seen nothing yet).
  const afterSequence = typeof args.afterSequence === 'number' ? args.afterSequence : undefined;
  const invalidAfter = afterSequence === undefined ? undefined : invalidAfterSequence(afterSequence);
  if (invalidAfter) refuse(ErrorCode.BAD_USER_INPUT, invalidAfter);
  return {
    document,
    orderId,
    responseKey: compiled.responseKey,
    currentQuery: compiled.currentQuery,
    changeQuery: compiled.changeQuery,
    sequenceVariable: compiled.sequenceVariable,
    variables: Object.fromEntries(
      Object.entries({ ...request.variables }).filter(([name]) => compiled.usedVariables.has(name)),
    ),
    afterSequence,
    operationName: compiled.operationName,
    sequenceKey: compiled.sequenceKey,
    statusKey: compiled.statusKey,
    batch: compiled.batch,
    batchSize: batchSize(compiled, measures, limits),
  };
}
