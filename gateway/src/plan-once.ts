// Each new query text planned once, for clients' requests (Apollo Server) and the gateway's own
// queries (subscriptions/internal-execute.ts) alike. @apollo/gateway's executor looks its plan
// cache up asynchronously and plans synchronously on a miss, so every execution of a new text
// that starts before the first has stored its plan plans it again: when many clients send the
// same new text at once (a deploy, a reconnect storm), hundreds of times, each a few ms of CPU.
// Here the first execution of a text starts alone and the others start once its plan is
// resolved (the gateway's experimental_didResolveQueryPlan hook, called after the plan is
// stored and before it runs) or, if it fails before that, once it has failed; after that,
// executions of the text start as they come. Only the planning is waited for, never the
// execution: identical mutations still run side by side.
import type { ApolloGateway, GatewayConfig } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import type { GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';

type Executor = ApolloGateway['executor'];
type DidResolveQueryPlan = NonNullable<GatewayConfig['experimental_didResolveQueryPlan']>;

/** A text's first execution until its plan is resolved, and whether that has happened. */
export interface FirstRun {
  first?: Promise<void> | undefined;
  planned?: boolean;
}

/**
 * Texts remembered per schema (a new supergraph plans anew). Forgetting one only means its next
 * executions, if several start together before one has planned it, each plan it as before.
 */
const REMEMBERED_TEXTS = 10_000;

export interface PlanOnce {
  /** For ApolloGateway's `experimental_didResolveQueryPlan`: lets the waiting executions go. */
  readonly didResolveQueryPlan: DidResolveQueryPlan;
  /** The gateway's executor, with each text's first execution starting alone. */
  wrap(executor: Executor): Executor;
}

export function createPlanOnce(): PlanOnce {
  /** The first execution of a text, while the others wait for its plan: what lets them go. */
  const waiting = new WeakMap<GatewayGraphQLRequestContext, () => void>();
  const bySchema = new WeakMap<GraphQLSchema, LRUCache<string, FirstRun>>();
  const runOf = (requestContext: GatewayGraphQLRequestContext): FirstRun => {
    let runs = bySchema.get(requestContext.schema);
    if (!runs) {
      runs = new LRUCache<string, FirstRun>({ max: REMEMBERED_TEXTS });
      bySchema.set(requestContext.schema, runs);
    }
    // The executor's plan cache is keyed by the text's hash and the operation name.
    const key = `${requestContext.queryHash}\n${requestContext.request.operationName ?? ''}`;
    let run = runs.get(key);
    if (!run) runs.set(key, (run = {}));
    return run;
  };
  return {
    didResolveQueryPlan: ({ requestContext }) => waiting.get(requestContext)?.(),
    wrap: (executor) => (requestContext) =>
      runPlannedOnce(runOf(requestContext), (planned) => {
        if (planned) waiting.set(requestContext, planned);
        return executor(requestContext);
      }),
  };
}

/** `gateway` for Apollo Server, with `executor` in place of the gateway's own. */
export function withExecutor(gateway: ApolloGateway, executor: Executor): GatewayInterface {
  return {
    load: async (options) => ({ ...(await gateway.load(options)), executor }),
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}

/**
 * Runs `execute`: the first run of a text alone until it calls `planned` (or settles), the
 * others once it has. Only the first run is given `planned`.
 */
export async function runPlannedOnce<T>(
  run: FirstRun,
  execute: (planned?: () => void) => Promise<T>,
): Promise<T> {
  while (run.first) await run.first;
  if (run.planned) return execute();
  run.planned = true;
  let planned!: () => void;
  const first = new Promise<void>((resolve) => (planned = resolve));
  run.first = first;
  void first.then(() => {
    if (run.first === first) run.first = undefined;
  });
  const result = execute(planned);
  result.then(planned, planned);
  return result;
}
