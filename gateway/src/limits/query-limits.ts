// The gateway's query limits are the shared ones (shared/graphql/limits/), which the
// subgraphs apply too with figures of their own; re-exported here for the gateway's modules.
export {
  checkOperation,
  checkQueryText,
  QueryTooComplexError,
  type LimitName,
  type OperationMeasures,
  type QueryLimits,
} from '../../../shared/graphql/limits/limits.ts';
export { checkGraphQLRequest, queryText } from '../../../shared/graphql/limits/http-request.ts';
export { hardenedApolloOptions, queryLimitsPlugin } from '../../../shared/graphql/limits/plugin.ts';
