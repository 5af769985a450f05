// Counts and times GraphQL operations by what they run (and counts them by outcome) for
// /metrics, and names the operation on the request's server span.
//
// A Prometheus label value lives as long as the process, so it must come from a closed set:
// the client's operation name does not (a loop of unique names grows memory and /metrics
// without bound). The label is the operation's type and its first root field when the schema
// has that field (`query.products`, `mutation.placeOrder`, `query._entities` on a subgraph),
// `<type>.other` when it has not, `none` when no operation could be resolved. The span keeps
// the client's name: spans are exported and dropped, not kept per value in memory.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { trace } from '@opentelemetry/api';
import {
  Kind,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Metrics } from '../observability/metrics.ts';

const META_FIELDS: ReadonlySet<string> = new Set(['__typename', '__schema', '__type']);

export function operationMetricsPlugin<C extends BaseContext>(metrics: Metrics): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, operation, document, schema, errors }) {
          if (operationName) trace.getActiveSpan()?.setAttribute('graphql.operation.name', operationName);
          const label = operationLabel(schema, document, operation);
          metrics.graphqlOperations.inc({ operation: label, outcome: errors?.length ? 'error' : 'ok' });
          metrics.graphqlDuration.observe({ operation: label }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

/** A label value from a closed set: the operation type and a root field of the schema. */
export function operationLabel(
  schema: GraphQLSchema,
  document: DocumentNode | undefined,
  operation: OperationDefinitionNode | undefined,
): string {
  if (!operation) return 'none';
  const field = firstRootField(operation.selectionSet, document);
  const known =
    field !== undefined &&
    (META_FIELDS.has(field) || schema.getRootType(operation.operation)?.getFields()[field] !== undefined);
  return `${operation.operation}.${known ? field : 'other'}`;
}

/** The first field selected at the root, looking through fragments (each at most once). */
function firstRootField(set: SelectionSetNode, document: DocumentNode | undefined): string | undefined {
  const seen = new Set<string>();
  const pending: SelectionSetNode[] = [set];
  for (let current = pending.shift(); current; current = pending.shift()) {
    for (const selection of current.selections) {
      if (selection.kind === Kind.FIELD) return selection.name.value;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        pending.push(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = document?.definitions.find(
          (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
        );
        if (fragment?.kind === Kind.FRAGMENT_DEFINITION) pending.push(fragment.selectionSet);
      }
    }
  }
  return undefined;
}
