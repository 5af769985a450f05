// Counts GraphQL operations by name and outcome for /metrics, and names the operation on the
// request's server span.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { trace } from '@opentelemetry/api';
import type { Metrics } from '../observability/metrics.ts';

export function operationMetricsPlugin<C extends BaseContext>(metrics: Metrics): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operationName, errors }) {
          if (operationName) trace.getActiveSpan()?.setAttribute('graphql.operation.name', operationName);
          metrics.graphqlOperations.inc({
            operation: operationName ?? 'anonymous',
            outcome: errors?.length ? 'error' : 'ok',
          });
        },
      };
    },
  };
}
