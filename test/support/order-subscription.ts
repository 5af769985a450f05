// The smallest API schema that an `orderStatusChanged` subscription compiles against, for the
// gateway's unit tests of subscriptions.
import { buildSchema } from 'graphql';
import { readQueryLimits } from '../../shared/graphql/limits/config.ts';
import { prepareSubscription, type PreparedSubscription } from '../../gateway/src/subscriptions/operation.ts';

export const orderSchema = buildSchema(`
  type Order { id: ID! status: String! statusSequence: Int! note: String }
  type Query { order(id: ID!): Order  orderAt(id: ID!, sequence: Int!): Order }
  type Subscription { orderStatusChanged(orderId: ID!, afterSequence: Int): Order! }
`);

export const DEFAULT_LIMITS = readQueryLimits({});

export function prepareOrderSubscription(
  query: string,
  variables: Record<string, unknown>,
): PreparedSubscription {
  return prepareSubscription(orderSchema, { query, variables }, DEFAULT_LIMITS);
}
