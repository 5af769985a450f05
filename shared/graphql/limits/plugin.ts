// The Apollo Server side of the limits, for the gateway and every subgraph alike: the options
// that bound parsing and hide the schema, and a plugin that checks each operation once it is
// resolved and before it is planned or executed. Apollo answers an error thrown here with
// its `extensions.http` status; thrown from any earlier hook it would be a 500.
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { AppError, BadUserInputError } from '../../errors.ts';
import { toRequestError } from '../format-error.ts';
import { checkDocumentStrings, checkVariables } from './input-guard.ts';
import { checkOperation, QueryTooComplexError, type LimitName, type QueryLimits } from './limits.ts';

/**
 * Constructor options of every Apollo Server here: graphql-js stops parsing past the token
 * cap (the backstop for documents that reach the parser without `checkQueryText`, such as a
 * persisted query sent by its hash), and in production validation errors stop suggesting
 * field names ("Did you mean …"), which would reveal the schema with introspection off.
 */
export function hardenedApolloOptions(
  limits: QueryLimits,
  production: boolean,
): Pick<ApolloServerOptions<BaseContext>, 'parseOptions' | 'hideSchemaDetailsFromClientErrors'> {
  return {
    parseOptions: { maxTokens: limits.maxTokens },
    hideSchemaDetailsFromClientErrors: production,
  };
}

export const SUBSCRIPTION_OVER_HTTP_MESSAGE =
  'Subscriptions are not served over plain HTTP: subscribe over a WebSocket (graphql-ws) at ' +
  '/graphql or with Server-Sent Events at /graphql/stream';

/** Refuses what no plain HTTP request may run, then checks the operation against `limits`. */
export function queryLimitsPlugin<C extends BaseContext>(
  limits: QueryLimits,
  onRejected: (limit: LimitName) => void = () => undefined,
): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, schema, request }) {
          try {
            if (!operation) {
              throw new BadUserInputError(
                'operationName',
                request.operationName
                  ? `The document has no operation named "${request.operationName}"`
                  : 'The document has several operations: say which one to run in operationName',
              );
            }
            if (operation.operation === 'subscription') {
              throw new BadUserInputError('query', SUBSCRIPTION_OVER_HTTP_MESSAGE);
            }
            checkDocumentStrings(document);
            checkVariables(request.variables, operation.variableDefinitions);
            checkOperation(document, operation, schema, request.variables ?? {}, limits);
          } catch (err) {
            if (err instanceof QueryTooComplexError) onRejected(err.limit);
            throw err instanceof AppError ? toRequestError(err) : err;
          }
        },
      };
    },
  };
}
