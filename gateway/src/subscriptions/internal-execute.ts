// The engine's own queries (current states, changes, resyncs) run on @apollo/gateway's executor
// directly, not through Apollo Server's request pipeline. That pipeline is for client requests:
// it parses and validates each request (from its cache), runs the plugins (operation metrics,
// the query limits, the login throttle), and times and counts the request; the engine's queries
// are few distinct texts, written by the gateway from a subscription that passed all of that
// already (rewrite.ts, with the limits checked in operation.ts), and are counted by the
// subscription metrics. What stays the same: each text is parsed and validated once against the
// API schema, the executor plans it (its plan cache) and calls the subgraphs with the
// subscriber's context (its token: the subgraphs decide what it may see), and errors are shaped
// as Apollo Server shapes them for a client (the gateway's formatter, one SUBGRAPH_UNAVAILABLE per
// subgraph).
import { createHash, randomUUID } from 'node:crypto';
import type { ApolloGateway } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import {
  GraphQLError,
  getOperationAST,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../../shared/logger.ts';
import type { GatewayContext } from '../auth/context.ts';
import { dedupeUnavailable } from '../subgraphs/unavailable-plugin.ts';
import type { Execute, LiveResult } from './engine.ts';

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface InternalExecuteOptions {
  /** The gateway whose executor plans and runs the queries. */
  readonly gateway: Pick<ApolloGateway, 'executor'>;
  /** The supergraph's API schema, once loaded. */
  readonly schema: () => GraphQLSchema | undefined;
  /** Apollo Server's formatError: what a client sees of an error. */
  readonly formatError: FormatError;
  readonly logger: Logger;
}

/** A query text, parsed and checked once per schema. */
interface Prepared {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode | undefined;
  /** Apollo Server's key for the text (the executor's plan cache is keyed by it). */
  readonly queryHash: string;
  readonly errors: readonly GraphQLError[];
  /**
   * The text's first execution, while it runs. The executor looks its plan cache up
   * asynchronously and plans synchronously on a miss, so every execution of a new text that
   * starts before the first has stored its plan plans it again: in a reconnect storm, hundreds
   * of times. The others wait for the first instead.
   */
  first?: Promise<unknown> | undefined;
  planned?: boolean;
}

/**
 * Characters of query text kept per schema: the texts are written by the gateway from cached
 * subscriptions (compiled-cache.ts bounds those), a few per subscription text.
 */
const CACHED_TEXT_CHARS = 8 * 1024 * 1024;

/** Read by no one on this path (the executor keeps its own plan cache); Apollo's type asks for one. */
const NO_CACHE = {
  get: async () => undefined,
  set: async () => undefined,
  delete: async () => undefined,
};

export function createInternalExecute(options: InternalExecuteOptions): Execute {
  const bySchema = new WeakMap<GraphQLSchema, LRUCache<string, Prepared>>();
  const prepared = (schema: GraphQLSchema, query: string): Prepared => {
    let cache = bySchema.get(schema);
    if (!cache) {
      cache = new LRUCache<string, Prepared>({
        maxSize: CACHED_TEXT_CHARS,
        sizeCalculation: (_value, key) => Math.max(1, key.length),
      });
      bySchema.set(schema, cache);
    }
    let entry = cache.get(query);
    if (!entry) {
      entry = prepare(schema, query);
      cache.set(query, entry);
    }
    return entry;
  };
  return async (query, variables, identity, operationName) => {
    const schema = options.schema();
    if (!schema) throw new Error('the supergraph schema is not loaded');
    const entry = prepared(schema, query);
    const { document, operation, queryHash, errors } = entry;
    if (!operation || errors.length > 0) return { errors: format(errors, options.formatError) };
    // The trace id is the request id's hex digits: as unique, and randomUUID draws from a
    // buffer of entropy where randomBytes asks the system each time.
    const requestId = randomUUID();
    const context: GatewayContext = {
      identity,
      requestId,
      trace: { traceId: requestId.replaceAll('-', ''), flags: '01' },
      logger: options.logger,
    };
    const requestContext: GatewayGraphQLRequestContext<GatewayContext> = {
      request: { query, variables: { ...variables }, ...(operationName ? { operationName } : {}) },
      logger: options.logger,
      schema,
      schemaHash: '' as GatewayGraphQLRequestContext['schemaHash'],
      context,
      cache: NO_CACHE,
      queryHash,
      document,
      source: query,
      operationName: operation.name?.value ?? null,
      operation,
      metrics: {},
      // No cache-control hints to collect: nothing here is cached for a client.
      overallCachePolicy: undefined,
    };
    let result: Awaited<ReturnType<ApolloGateway['executor']>>;
    try {
      result = await runPlannedOnce(entry, () => options.gateway.executor(requestContext));
    } catch (err) {
      return { errors: format([err], options.formatError) };
    }
    const shaped: LiveResult = result.data === undefined ? {} : { data: result.data };
    if (result.errors?.length) return { ...shaped, errors: format(result.errors, options.formatError) };
    return shaped;
  };
}

/** Runs `execute`; the first run of a text alone, the others once it has planned (see Prepared.first). */
export async function runPlannedOnce<T>(
  entry: Pick<Prepared, 'first' | 'planned'>,
  execute: () => Promise<T>,
): Promise<T> {
  while (entry.first) await entry.first;
  if (entry.planned) return execute();
  entry.planned = true;
  const run = execute();
  const first = run.then(
    () => undefined,
    () => undefined,
  );
  entry.first = first;
  void first.then(() => {
    if (entry.first === first) entry.first = undefined;
  });
  return run;
}

function prepare(schema: GraphQLSchema, query: string): Prepared {
  const queryHash = createHash('sha256').update(query).digest('hex');
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (err) {
    const error = err instanceof GraphQLError ? err : new GraphQLError(String(err));
    return {
      document: { kind: 'Document' as DocumentNode['kind'], definitions: [] },
      operation: undefined,
      queryHash,
      errors: [withCode(error, 'GRAPHQL_PARSE_FAILED')],
    };
  }
  const invalid = validate(schema, document).map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
  const operation = getOperationAST(document) ?? undefined;
  return { document, operation, queryHash, errors: invalid };
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: { ...error.extensions, code },
  });
}

/**
 * As Apollo Server formats a response's errors: each made a GraphQLError with a code (default
 * INTERNAL_SERVER_ERROR), then through formatError (a formatter that throws masks the error);
 * then one SUBGRAPH_UNAVAILABLE per subgraph, as subgraphUnavailablePlugin leaves them.
 */
export function format(errors: readonly unknown[], formatError: FormatError): GraphQLFormattedError[] {
  return dedupeUnavailable(
    errors.map((raw) => {
      try {
        const error =
          raw instanceof GraphQLError
            ? raw
            : new GraphQLError(
                raw instanceof Error ? raw.message : `Unexpected error value: ${String(raw)}`,
                {
                  originalError: raw instanceof Error ? raw : undefined,
                },
              );
        // `http` (a status for an HTTP response) is for Apollo Server's response head only.
        const { http: _http, ...rest } = error.extensions;
        const extensions = { ...rest, code: error.extensions.code ?? 'INTERNAL_SERVER_ERROR' };
        return formatError({ ...error.toJSON(), extensions }, raw);
      } catch {
        return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
    }),
  );
}
