// The current state a subscription starts with, read for several orders in one query.
//
// Reading one order's current state is a whole query through the supergraph: the gateway's
// executor (internal-execute.ts), then a fetch from orders and one from each subgraph the
// selection reaches.
// When many subscriptions start at once (a restarted gateway, every client reconnecting), reads
// that ask the same thing of different orders, with the same rights, are sent as one query:
//
//   query S($__id0: ID!, $__id1: ID!) { o0: order(id: $__id0) { ...sel } o1: order(id: $__id1) { ...sel } }
//
// which the gateway plans as one fetch from orders and one per other subgraph for all of them.
// Only reads with the same rights share a query (the same user, or any two ADMINs): the query
// runs with one member's token, and every subgraph decides what it may see by that token, so
// nothing of one user's can reach another. Reads are collected until the event loop has
// handled what is waiting (setImmediate), so a lone read waits for nothing. A batch that fails
// as a whole (no data at all) is read again one order at a time, so one bad member, or a limit
// the estimate missed, costs only a retry.
import {
  Kind,
  print,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
  type VariableDefinitionNode,
  type VariableNode,
} from 'graphql';
import type { Identity } from '../../../shared/auth/identity.ts';
import { rightsScope } from '../../../shared/auth/policies.ts';
import type { QueryLimits } from '../limits/query-limits.ts';
import type { Execute, LiveResult } from './engine.ts';
import type { PreparedSubscription } from './operation.ts';
import { stableJson } from './stable-json.ts';

/** Orders read by one query, at most (the gateway's query limits may allow fewer). */
export const MAX_BATCH = 16;

/**
 * Orders one batched query may read within the gateway's query limits, given what each order
 * adds to it: the limits apply to the gateway's own queries too, so what reaches a subgraph is
 * what a client could send. Below 2, no batching.
 */
export function ordersPerQuery(
  limits: Pick<QueryLimits, 'maxAliases' | 'maxCost' | 'maxTokens'>,
  perOrder: { readonly aliases: number; readonly cost: number; readonly tokens: number },
): number {
  return Math.max(
    1,
    Math.min(
      MAX_BATCH,
      Math.floor(limits.maxAliases / perOrder.aliases),
      Math.floor(limits.maxCost / perOrder.cost),
      Math.floor(limits.maxTokens / perOrder.tokens),
    ),
  );
}

/** What a subscription's current-state query needs to read several orders at once. */
export interface BatchTemplate {
  /** Equal for subscribers that may share a query (the same compiled text). */
  readonly id: number;
  /** The client's variable holding the order id: not shared by the batch's members. */
  readonly idVariable: string;
  /** The query for `size` orders; order i's id goes in batchVariable(i), its answer comes under alias(i). */
  query(size: number): string;
  batchVariable(index: number): string;
  alias(index: number): string;
}

let templates = 0;

/** The response key of a batch's i-th order (the batch's root has no other fields). */
const alias = (index: number) => `o${index}`;
const ALIAS = /^o\d+$/;

/**
 * The batch template of a compiled subscription, or undefined when it cannot batch: its order
 * id is not a variable, or that variable is used elsewhere in the selection too.
 */
export function batchTemplate(parts: {
  readonly operation: OperationDefinitionNode;
  readonly root: FieldNode;
  readonly variableDefinitions: readonly VariableDefinitionNode[];
  readonly fragments: readonly FragmentDefinitionNode[];
  /** Variables the selection and the field's directives use (the id argument aside). */
  readonly usedBySelection: ReadonlySet<string>;
}): BatchTemplate | undefined {
  const idArgument = parts.root.arguments?.find((a) => a.name.value === 'id');
  if (idArgument?.value.kind !== Kind.VARIABLE) return undefined;
  const idVariable = idArgument.value.name.value;
  if (parts.usedBySelection.has(idVariable)) return undefined;
  const idDefinition = parts.variableDefinitions.find((d) => d.variable.name.value === idVariable);
  if (!idDefinition) return undefined;
  const shared = parts.variableDefinitions.filter((d) => d !== idDefinition);
  // A prefix no variable of the client's starts with, so `${prefix}${i}` is always free.
  let prefix = '__id';
  while (parts.variableDefinitions.some((d) => d.variable.name.value.startsWith(prefix))) prefix += '_';
  const variable = (index: number): VariableNode => ({
    kind: Kind.VARIABLE,
    name: { kind: Kind.NAME, value: `${prefix}${index}` },
  });
  const texts = new Map<number, string>();
  const template: BatchTemplate = {
    id: (templates += 1),
    idVariable,
    batchVariable: (index) => `${prefix}${index}`,
    alias,
    query(size) {
      let text = texts.get(size);
      if (text) return text;
      const operation: OperationDefinitionNode = {
        ...parts.operation,
        variableDefinitions: [
          ...shared,
          ...Array.from({ length: size }, (_, i): VariableDefinitionNode => ({
            kind: Kind.VARIABLE_DEFINITION,
            variable: variable(i),
            type: idDefinition.type,
          })),
        ],
        selectionSet: {
          kind: Kind.SELECTION_SET,
          selections: Array.from({ length: size }, (_, i): FieldNode => ({
            ...parts.root,
            alias: { kind: Kind.NAME, value: alias(i) },
            arguments: [{ ...idArgument, value: variable(i) }],
          })),
        },
      };
      text = print({ kind: Kind.DOCUMENT, definitions: [operation, ...parts.fragments] });
      texts.set(size, text);
      return text;
    },
  };
  return template;
}

/** One order's read: its query and, to go in one query with others, its batch template. */
export type StateRead = Pick<
  PreparedSubscription,
  'orderId' | 'responseKey' | 'currentQuery' | 'variables' | 'operationName' | 'batch' | 'batchSize'
>;

interface Waiting {
  readonly prepared: StateRead;
  readonly identity: Identity;
  readonly resolve: (result: LiveResult) => void;
  readonly reject: (err: unknown) => void;
}

export class FirstStateReader {
  readonly #execute: Execute;
  readonly #onQuery: () => void;
  /** Reads waiting for the next flush, by batch key. */
  #waiting = new Map<string, Waiting[]>();
  #scheduled = false;

  /** `onQuery` is told of each query sent (a batch of several orders is one). */
  constructor(execute: Execute, onQuery: () => void) {
    this.#execute = execute;
    this.#onQuery = onQuery;
  }

  /** The order's state as `identity` sees it, in the single-order result's shape. */
  read(prepared: StateRead, identity: Identity): Promise<LiveResult> {
    const { batch } = prepared;
    if (!batch || prepared.batchSize < 2) return this.#single(prepared, identity);
    const rights = rightsScope(identity);
    const { [batch.idVariable]: _id, ...shared } = prepared.variables;
    const key = `${rights}\n${batch.id}\n${prepared.operationName ?? ''}\n${stableJson(shared)}`;
    return new Promise<LiveResult>((resolve, reject) => {
      const list = this.#waiting.get(key) ?? [];
      list.push({ prepared, identity, resolve, reject });
      this.#waiting.set(key, list);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    this.#waiting = new Map();
    for (const list of waiting.values()) {
      const size = list[0]!.prepared.batchSize;
      for (let i = 0; i < list.length; i += size) void this.#batch(list.slice(i, i + size));
    }
  }

  async #single(prepared: StateRead, identity: Identity): Promise<LiveResult> {
    this.#onQuery();
    return this.#execute(prepared.currentQuery, prepared.variables, identity, prepared.operationName);
  }

  async #batch(members: Waiting[]): Promise<void> {
    if (members.length === 1) {
      const [only] = members as [Waiting];
      this.#single(only.prepared, only.identity).then(only.resolve, only.reject);
      return;
    }
    const first = members[0]!.prepared;
    const batch = first.batch!;
    // Whose token the query carries: any member's has the same rights; the longest-lived one.
    const identity = members.reduce((a, b) => (b.identity.expiresAt > a.identity.expiresAt ? b : a)).identity;
    const { [batch.idVariable]: _id, ...shared } = first.variables;
    const variables: Record<string, unknown> = shared;
    members.forEach((m, i) => (variables[batch.batchVariable(i)] = m.prepared.orderId));
    let result: LiveResult | undefined;
    try {
      this.#onQuery();
      result = await this.#execute(batch.query(members.length), variables, identity, first.operationName);
    } catch {
      result = undefined;
    }
    if (!result?.data) {
      // Failed as a whole: each member reads alone and gets its own answer (or error).
      for (const m of members) this.#single(m.prepared, m.identity).then(m.resolve, m.reject);
      return;
    }
    members.forEach((m, i) => m.resolve(memberResult(result, batch.alias(i), m.prepared.responseKey)));
  }
}

/**
 * One member's part of a batch's result, as its own query would have answered: its order under
 * its response key, and the errors on its path (re-rooted there) or on no member's path.
 */
function memberResult(result: LiveResult, alias: string, responseKey: string): LiveResult {
  const errors: GraphQLFormattedError[] = [];
  for (const error of result.errors ?? []) {
    const root = error.path?.[0];
    if (root === alias) errors.push({ ...error, path: [responseKey, ...error.path!.slice(1)] });
    else if (typeof root !== 'string' || !ALIAS.test(root)) errors.push(error);
  }
  return {
    data: { [responseKey]: result.data?.[alias] ?? null },
    ...(errors.length > 0 ? { errors } : {}),
  };
}
