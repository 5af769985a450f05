// Counts GraphQL operations by name and outcome for /metrics.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Metrics } from '../observability/metrics.ts';

export function operationMetricsPlugin<C extends BaseContext>(metrics: Metrics): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operationName, errors }) {
          metrics.graphqlOperations.inc({
            operation: operationName ?? 'anonymous',
            outcome: errors?.length ? 'error' : 'ok',
          });
        },
      };
    },
  };
}
