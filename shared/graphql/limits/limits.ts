// Refuses documents and operations that are too big, too nested, too deep, too aliased or too
// costly with QUERY_TOO_COMPLEX (HTTP 400) and a message that says which limit and by how much.
// The gateway and every subgraph apply the same checks (subgraphs with their own figures).
//
// Two steps, because graphql-js parses and validates recursively: `checkQueryText` runs on
// the text before anything parses it (size, tokens, directives, nesting); `checkOperation`
// runs on the parsed, validated operation (depth, aliases, cost).
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { AppError, ErrorCode } from '../../errors.ts';
import { analyzeOperation, fragmentsOf } from './analysis.ts';
import { scanDocument } from './document-scan.ts';

export interface QueryLimits {
  /** Fields on the longest path (`{ me { id } }` is 2). */
  readonly maxDepth: number;
  /** Aliased fields in the whole operation. */
  readonly maxAliases: number;
  /** The cost budget (see analysis.ts). */
  readonly maxCost: number;
  /** The query text, in UTF-8 bytes. */
  readonly maxQueryBytes: number;
  /** The multiplier of a `first` argument that is neither given nor defaulted. */
  readonly defaultListSize: number;
  /** Lexical tokens of the document (graphql-js `parse(…, { maxTokens })`). */
  readonly maxTokens: number;
  /** Directives (`@…`) in the whole document. */
  readonly maxDirectives: number;
  /** `{`, `[` and `(` open at once, and selection sets (fragments included) in one another. */
  readonly maxNesting: number;
  /** Fields of one response key in one selection set (document-scan.ts). */
  readonly maxFieldRepeats: number;
}

export type LimitName =
  'size' | 'tokens' | 'directives' | 'nesting' | 'repeats' | 'depth' | 'aliases' | 'introspection' | 'cost';

export class QueryTooComplexError extends AppError {
  readonly limit: LimitName;
  constructor(limit: LimitName, message: string, actual: number, maximum: number) {
    super(ErrorCode.QUERY_TOO_COMPLEX, message, { limit, actual, maximum });
    this.limit = limit;
  }
}

const tooComplex = (limit: LimitName, actual: number, maximum: number, what: string): never => {
  throw new QueryTooComplexError(limit, `${what}; the limit is ${maximum}`, actual, maximum);
};

/** Size, tokens, directives and nesting of the text: run before anything parses it. */
export function checkQueryText(query: string, limits: QueryLimits): void {
  const bytes = Buffer.byteLength(query, 'utf8');
  if (bytes > limits.maxQueryBytes)
    tooComplex('size', bytes, limits.maxQueryBytes, `The query is ${bytes} bytes long`);
  const scan = scanDocument(query, limits);
  if (scan.exceeded === 'tokens') {
    tooComplex('tokens', scan.tokens, limits.maxTokens, `The query has more than ${limits.maxTokens} tokens`);
  }
  if (scan.exceeded === 'directives') {
    tooComplex(
      'directives',
      scan.directives,
      limits.maxDirectives,
      `The query uses more than ${limits.maxDirectives} directives`,
    );
  }
  if (scan.exceeded === 'nesting') {
    tooComplex(
      'nesting',
      scan.nesting,
      limits.maxNesting,
      `The query nests braces, brackets or parentheses more than ${limits.maxNesting} levels deep`,
    );
  }
  if (scan.exceeded === 'repeats') {
    tooComplex(
      'repeats',
      scan.repeats,
      limits.maxFieldRepeats,
      `The query selects one field (or alias) ${scan.repeats} times in one selection set`,
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
  const measures = analyzeOperation(operation, fragmentsOf(document), schema, variables, limits);
  if (measures.tooNested) {
    tooComplex(
      'nesting',
      limits.maxNesting + 1,
      limits.maxNesting,
      'The query nests selections (fragments included) too deeply',
    );
  }
  const { depth, aliases, cost, schemaIntrospections } = measures;
  // Introspection costs nothing in the budget (Sandbox's query nests a dozen levels for no
  // subgraph work), but each `__schema` answers with the whole schema: 30 aliases of one with
  // deep fragments were a 2.8 MB answer and 0.3 s of the gateway's CPU. One per operation.
  if (schemaIntrospections > 1) {
    tooComplex(
      'introspection',
      schemaIntrospections,
      1,
      `The query introspects the whole schema (__schema) ${schemaIntrospections} times`,
    );
  }
  if (depth > limits.maxDepth)
    tooComplex('depth', depth, limits.maxDepth, `The query is ${depth} levels deep`);
  if (aliases > limits.maxAliases)
    tooComplex('aliases', aliases, limits.maxAliases, `The query uses ${aliases} aliases`);
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
