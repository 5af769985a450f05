// One SUBGRAPH_UNAVAILABLE error per subgraph per response. @apollo/gateway records an error
// for every failed fetch, and a query plan may fetch from one subgraph several times (at
// several depths, or once per batch): the client needs to learn once that a subgraph is out.
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { SUBGRAPH_UNAVAILABLE } from './unavailable.ts';

export function subgraphUnavailablePlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          // By now the errors are formatted (../errors.ts): code and service are plain values.
          if (response.body.kind !== 'single') return;
          const { errors } = response.body.singleResult;
          if (errors) response.body.singleResult.errors = dedupeUnavailable(errors);
        },
      };
    },
  };
}

export function dedupeUnavailable(errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
  const seen = new Set<unknown>();
  return errors.filter((error) => {
    if (error.extensions?.code !== SUBGRAPH_UNAVAILABLE) return true;
    const service = error.extensions.service;
    if (seen.has(service)) return false;
    seen.add(service);
    return true;
  });
}
