import { describe, expect, it } from '@jest/globals';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import type { Identity } from '../../../shared/auth/identity.ts';
import { orderSchema } from '../../../test/support/order-subscription.ts';
import type { GatewayContext } from '../auth/context.ts';
import { createGatewayErrorFormatter } from '../errors.ts';
import { SubgraphUnavailableError } from '../subgraphs/unavailable.ts';
import { createInternalExecute } from './internal-execute.ts';

const logger = pino({ level: 'silent' });
const ada: Identity = { userId: 'ada', role: 'CUSTOMER', token: 'ada-token', expiresAt: 2e9 };
type Seen = GatewayGraphQLRequestContext<GatewayContext>;
const QUERY = 'query Live($id: ID!) { live: order(id: $id) { id status } }';

/** A gateway executor that records what it is given and answers `answer`. */
function executing(
  answer: (context: GatewayGraphQLRequestContext<GatewayContext>) => GatewayExecutionResult,
) {
  const seen: GatewayGraphQLRequestContext<GatewayContext>[] = [];
  const executor = async (requestContext: GatewayGraphQLRequestContext) => {
    const context = requestContext as GatewayGraphQLRequestContext<GatewayContext>;
    seen.push(context);
    return answer(context);
  };
  const execute = createInternalExecute({
    executor,
    schema: () => orderSchema,
    formatError: createGatewayErrorFormatter(logger),
    logger,
  });
  return { execute, seen };
}

describe('the engine’s queries on the gateway executor', () => {
  it("runs as the subscriber, with the text parsed once and each call's own variables and request id", async () => {
    const { execute, seen } = executing((c) => ({ data: { live: { id: c.request.variables?.id } } }));
    const first = await execute(QUERY, { id: 'a' }, ada, 'Live');
    const second = await execute(QUERY, { id: 'b' }, ada, 'Live');
    expect(first).toEqual({ data: { live: { id: 'a' } } });
    expect(second).toEqual({ data: { live: { id: 'b' } } });
    const [one, two] = seen as [Seen, Seen];
    expect(one.context.identity).toBe(ada);
    expect(one.request).toEqual({ query: QUERY, variables: { id: 'a' }, operationName: 'Live' });
    expect(one.operation.operation).toBe('query');
    expect(one.operationName).toBe('Live');
    // One parse and one hash per text: the executor's plan cache is keyed by the hash.
    expect(two.document).toBe(one.document);
    expect(two.queryHash).toBe(one.queryHash);
    expect(two.context.requestId).not.toBe(one.context.requestId);
  });

  it('answers a query the schema does not accept with BAD_USER_INPUT, without executing it', async () => {
    const { execute, seen } = executing(() => ({ data: {} }));
    const result = await execute('query { order(id: "x") { nope } }', {}, ada, undefined);
    expect(seen).toHaveLength(0);
    expect(result.data).toBeUndefined();
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('shapes errors as a client sees them: codes kept, internals masked, one SUBGRAPH_UNAVAILABLE per subgraph', async () => {
    const { execute } = executing(() => ({
      data: { live: null },
      errors: [
        new GraphQLError('Order x was not found', { path: ['live'], extensions: { code: 'NOT_FOUND' } }),
        new SubgraphUnavailableError('payments', 'timeout'),
        new SubgraphUnavailableError('payments', 'timeout'),
        new GraphQLError('connect ECONNREFUSED 10.0.0.7:5432', {
          extensions: { serviceName: 'orders' },
        }),
      ],
    }));
    const result = await execute(QUERY, { id: 'x' }, ada, 'Live');
    expect(result.data).toEqual({ live: null });
    expect(result.errors).toEqual([
      { message: 'Order x was not found', path: ['live'], extensions: { code: 'NOT_FOUND' } },
      {
        message: new SubgraphUnavailableError('payments', 'timeout').message,
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', service: 'payments' },
      },
      { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
  });

  it('answers an executor that throws with a masked error and no data', async () => {
    const { execute } = executing(() => {
      throw new Error('query planner exploded at /srv/gateway');
    });
    expect(await execute(QUERY, { id: 'x' }, ada, 'Live')).toEqual({
      errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
  });
});
