// A subgraph's answer that breaks the schema without an error (a `User!` its subgraph no longer
// has, an unknown `__typename`) is an error for the client, at its path. @apollo/gateway finds
// these while shaping the response, but reports them only in a response extension,
// `valueCompletion`, and only when no subgraph call failed: the client got a null where the
// schema promised a value and no `errors` entry, and an extension with the gateway's internal
// code. Here they join `errors`, where the error formatter logs them and answers the masked
// INTERNAL_SERVER_ERROR with the path, as for any other fault behind the gateway.
import type { ApolloGateway } from '@apollo/gateway';
import { GraphQLError } from 'graphql';

type Executor = ApolloGateway['executor'];

/** The gateway's executor, with the schema breaches it found reported as errors. */
export function reportIncompleteAnswers(executor: Executor): Executor {
  return async (requestContext) => {
    const result = await executor(requestContext);
    const breaches: unknown = result.extensions?.valueCompletion;
    if (!Array.isArray(breaches)) return result;
    const { valueCompletion: _reported, ...extensions } = result.extensions!;
    return {
      ...result,
      errors: [...(result.errors ?? []), ...breaches.filter((e) => e instanceof GraphQLError)],
      extensions: Object.keys(extensions).length > 0 ? extensions : undefined,
    };
  };
}
