// The engine's own queries (current states, changes, resyncs) run on @apollo/gateway's executor
// directly, not through Apollo Server's request pipeline. That pipeline is for client requests:
// it parses and validates each request (from its cache), runs the plugins (operation metrics,
// the query limits, the login throttle), and times and counts the request; the engine's queries
// are few distinct texts, written by the gateway from a subscription that passed all of that
// already (rewrite.ts, with the limits checked in operation.ts), and are counted by the
// subscription metrics. What stays the same: each text is parsed and validated once against the
// API schema, the executor plans it (its plan cache; each new text planned once, plan-once.ts,
// as for clients' requests) and calls the subgraphs with the subscriber's context (its token:
// the subgraphs decide what it may see), and errors are shaped as Apollo Server shapes them for
// a client (the gateway's formatter, one SUBGRAPH_UNAVAILABLE per subgraph).
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
import type { Logger } from '../../../shared/logger.ts';
import type { GatewayContext } from '../auth/context.ts';
import { newTrace } from '../http/request-meta.ts';
import { dedupeUnavailable } from '../subgraphs/unavailable-plugin.ts';
import type { Execute, LiveResult } from './engine.ts';
import { PerSchemaTextCache } from './per-schema-cache.ts';

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface InternalExecuteOptions {
  /** The gateway's executor, which plans and runs the queries. */
  readonly executor: ApolloGateway['executor'];
  /** The supergraph's API schema, once loaded. */
  readonly schema: () => GraphQLSchema | undefined;
  /** Apollo Server's formatError: what a client sees of an error. */
  readonly formatError: FormatError;
  readonly logger: Logger;
}

/** A query text, parsed and checked once per schema: what the executor needs, or why not. */
type Prepared =
  | { readonly errors: readonly GraphQLError[] }
  | {
      readonly errors?: undefined;
      readonly document: DocumentNode;
      readonly operation: OperationDefinitionNode;
      /** Apollo Server's key for the text (the executor's plan cache is keyed by it). */
      readonly queryHash: string;
    };

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
  const texts = new PerSchemaTextCache<Prepared>(CACHED_TEXT_CHARS);
  return async (query, variables, identity, operationName) => {
    const schema = options.schema();
    if (!schema) throw new Error('the supergraph schema is not loaded');
    const prepared = texts.get(schema, query, () => prepare(schema, query));
    if (prepared.errors) return { errors: format(prepared.errors, options.formatError) };
    const { document, operation, queryHash } = prepared;
    const context: GatewayContext = {
      identity,
      requestId: randomUUID(),
      trace: newTrace(),
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
      result = await options.executor(requestContext);
    } catch (err) {
      return { errors: format([err], options.formatError) };
    }
    const shaped: LiveResult = result.data === undefined ? {} : { data: result.data };
    if (result.errors?.length) return { ...shaped, errors: format(result.errors, options.formatError) };
    return shaped;
  };
}

function prepare(schema: GraphQLSchema, query: string): Prepared {
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (err) {
    const error = err instanceof GraphQLError ? err : new GraphQLError(String(err));
    return { errors: [withCode(error, 'GRAPHQL_PARSE_FAILED')] };
  }
  const invalid = validate(schema, document).map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
  if (invalid.length > 0) return { errors: invalid };
  const operation = getOperationAST(document);
  if (!operation) return { errors: [new GraphQLError('The query has no single operation to run')] };
  return { document, operation, queryHash: createHash('sha256').update(query).digest('hex') };
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
