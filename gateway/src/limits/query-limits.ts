// Refuses operations that are too big, too deep, too aliased or too costly, before the gateway
// plans them, with QUERY_TOO_COMPLEX (HTTP 400) and a message that says which limit and by how much.
import type { ApolloServerPlugin, BaseContext, HTTPGraphQLRequest } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { AppError, ErrorCode } from '../../../shared/errors.ts';
import { toRequestError } from '../../../shared/graphql/format-error.ts';
import { countAliases, fragmentsOf, queryCost, queryDepth } from './query-analysis.ts';

export interface QueryLimits {
  /** Fields on the longest path (`{ me { id } }` is 2). */
  readonly maxDepth: number;
  /** Aliased fields in the whole operation. */
  readonly maxAliases: number;
  /** The cost budget (see queryCost). */
  readonly maxCost: number;
  /** The query text, in UTF-8 bytes. */
  readonly maxQueryBytes: number;
  /** The multiplier of a `first` argument that is neither given nor defaulted. */
  readonly defaultListSize: number;
}

export type LimitName = 'size' | 'depth' | 'aliases' | 'cost';

export class QueryTooComplexError extends AppError {
  readonly limit: LimitName;
  constructor(limit: LimitName, message: string, actual: number, maximum: number) {
    super(ErrorCode.QUERY_TOO_COMPLEX, message, { limit, actual, maximum });
    this.limit = limit;
  }
}

/** The query text of an HTTP GraphQL request (GET `?query=` or a POSTed JSON body), if any. */
export function queryText(request: HTTPGraphQLRequest): string | undefined {
  if (request.method === 'GET') return new URLSearchParams(request.search).get('query') ?? undefined;
  const body = request.body as { query?: unknown } | undefined;
  return body && typeof body === 'object' && typeof body.query === 'string' ? body.query : undefined;
}

/**
 * Checked when the request's context is made, before Apollo Server parses anything (a throw
 * from a plugin's didResolveSource would become a 500).
 */
export function checkQuerySize(query: string, limits: QueryLimits): void {
  const bytes = Buffer.byteLength(query, 'utf8');
  if (bytes > limits.maxQueryBytes) {
    throw new QueryTooComplexError(
      'size',
      `The query is ${bytes} bytes long; the limit is ${limits.maxQueryBytes}`,
      bytes,
      limits.maxQueryBytes,
    );
  }
}

export interface OperationMeasures {
  readonly depth: number;
  readonly aliases: number;
  readonly cost: number;
}

/** Measures the operation and throws QueryTooComplexError for the first limit it breaks. */
export function checkOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  schema: GraphQLSchema,
  variables: Readonly<Record<string, unknown>>,
  limits: QueryLimits,
): OperationMeasures {
  const fragments = fragmentsOf(document);
  const depth = queryDepth(operation, fragments);
  if (depth > limits.maxDepth) {
    throw new QueryTooComplexError(
      'depth',
      `The query is ${depth} levels deep; the limit is ${limits.maxDepth}`,
      depth,
      limits.maxDepth,
    );
  }
  const aliases = countAliases(operation, fragments);
  if (aliases > limits.maxAliases) {
    throw new QueryTooComplexError(
      'aliases',
      `The query uses ${aliases} aliases; the limit is ${limits.maxAliases}`,
      aliases,
      limits.maxAliases,
    );
  }
  const cost = queryCost(operation, fragments, schema, variables, {
    defaultListSize: limits.defaultListSize,
  });
  if (cost > limits.maxCost) {
    throw new QueryTooComplexError(
      'cost',
      `The query would cost ${cost}; the budget is ${limits.maxCost} ` +
        '(each field costs 1; a field with `first: n` multiplies what it selects by n)',
      cost,
      limits.maxCost,
    );
  }
  return { depth, aliases, cost };
}

/** Depth, aliases and cost, once the operation is parsed and validated and before it is planned. */
export function queryLimitsPlugin<C extends BaseContext>(
  limits: QueryLimits,
  onRejected: (limit: LimitName) => void,
): ApolloServerPlugin<C> {
  const reject = (err: unknown): never => {
    if (err instanceof QueryTooComplexError) {
      onRejected(err.limit);
      throw toRequestError(err);
    }
    throw err;
  };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, schema, request }) {
          if (!operation) return;
          try {
            checkOperation(document, operation, schema, request.variables ?? {}, limits);
          } catch (err) {
            reject(err);
          }
        },
      };
    },
  };
}
