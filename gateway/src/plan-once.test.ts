import { describe, expect, it } from '@jest/globals';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { buildSchema, type GraphQLSchema } from 'graphql';
import { createPlanOnce, runPlannedOnce } from './plan-once.ts';

const schemaA = buildSchema('type Query { a: Int }');
const schemaB = buildSchema('type Query { a: Int }');

/**
 * A gateway executor stand-in: each execution starts (recorded), then waits to be told its plan
 * is resolved (calling the gateway's hook as the real executor does), then waits to finish.
 */
function gatewayExecutor() {
  const plans = createPlanOnce();
  const started: string[] = [];
  const toPlan: (() => void)[] = [];
  const toFinish: (() => void)[] = [];
  const executor = async (requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> => {
    started.push(String(requestContext.request.variables?.n));
    await new Promise<void>((resolve) => toPlan.push(resolve));
    plans.didResolveQueryPlan({ requestContext } as Parameters<typeof plans.didResolveQueryPlan>[0]);
    await new Promise<void>((resolve) => toFinish.push(resolve));
    return { data: { a: 1 } };
  };
  const release = (list: (() => void)[]) => async () => {
    list.splice(0).forEach((go) => go());
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    execute: plans.wrap(executor),
    started,
    planAll: release(toPlan),
    finishAll: release(toFinish),
  };
}

function request(
  n: number,
  schema: GraphQLSchema,
  queryHash: string,
  operationName?: string,
): GatewayGraphQLRequestContext {
  return {
    schema,
    queryHash,
    request: { query: '{ a }', variables: { n }, ...(operationName ? { operationName } : {}) },
  } as unknown as GatewayGraphQLRequestContext;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('createPlanOnce', () => {
  it("starts the executions of a new text that arrive together once the first's plan is resolved, not its execution", async () => {
    const { execute, started, planAll, finishAll } = gatewayExecutor();
    const together = [1, 2, 3].map((n) => execute(request(n, schemaA, 'h')));
    await turn();
    expect(started).toEqual(['1']);
    await planAll();
    // The first is still executing (identical mutations run side by side).
    expect(started).toEqual(['1', '2', '3']);
    const later = [4, 5].map((n) => execute(request(n, schemaA, 'h')));
    await turn();
    expect(started).toEqual(['1', '2', '3', '4', '5']);
    await planAll();
    await finishAll();
    await Promise.all([...together, ...later]);
  });

  it('keeps texts, operation names and schemas apart', async () => {
    const { execute, started, planAll, finishAll } = gatewayExecutor();
    const runs = [
      execute(request(1, schemaA, 'h')),
      execute(request(2, schemaA, 'other')),
      execute(request(3, schemaA, 'h', 'Named')),
      execute(request(4, schemaB, 'h')),
      execute(request(5, schemaA, 'h')),
    ];
    await turn();
    expect(started).toEqual(['1', '2', '3', '4']);
    await planAll();
    expect(started).toEqual(['1', '2', '3', '4', '5']);
    await planAll();
    await finishAll();
    await Promise.all(runs);
  });
});

describe('runPlannedOnce', () => {
  it('lets the others go when the first execution fails before its plan is resolved', async () => {
    const run = {};
    const failed = runPlannedOnce(run, () => Promise.reject(new Error('invalid operation')));
    const next = runPlannedOnce(run, async (planned) => (planned ? 'given planned' : 'ok'));
    await expect(failed).rejects.toThrow('invalid operation');
    expect(await next).toBe('ok');
  });
});
