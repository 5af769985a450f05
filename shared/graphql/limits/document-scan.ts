// A pass over a document's tokens before it is parsed: how many tokens, how many directives,
// and how deeply `{`, `[` and `(` nest. graphql-js parses and validates recursively, so a few
// kilobytes of `[[[[…` or `{...on Query{…` overflow the stack (an engine message and a 500)
// before any analysis of the tree could refuse them; graphql-js's own `maxTokens` bounds the
// size but not the nesting. The lexer is a loop, so this pass costs one step per token and
// stops at the first limit broken.
import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';

export interface DocumentLimits {
  readonly maxTokens: number;
  readonly maxDirectives: number;
  /** `{`, `[` and `(` open at once. */
  readonly maxNesting: number;
}

export type DocumentLimitName = 'tokens' | 'directives' | 'nesting';

export interface DocumentScan {
  readonly tokens: number;
  readonly directives: number;
  readonly nesting: number;
  /** The first limit broken (counting stopped there), if any. */
  readonly exceeded?: DocumentLimitName;
}

const OPENING = new Set<string>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<string>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

export function scanDocument(text: string, limits: DocumentLimits): DocumentScan {
  const lexer = new Lexer(new Source(text));
  let tokens = 0;
  let directives = 0;
  let open = 0;
  let nesting = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      tokens += 1;
      if (tokens > limits.maxTokens) return { tokens, directives, nesting, exceeded: 'tokens' };
      if (token.kind === TokenKind.AT) {
        directives += 1;
        if (directives > limits.maxDirectives) return { tokens, directives, nesting, exceeded: 'directives' };
      } else if (OPENING.has(token.kind)) {
        open += 1;
        nesting = Math.max(nesting, open);
        if (nesting > limits.maxNesting) return { tokens, directives, nesting, exceeded: 'nesting' };
      } else if (CLOSING.has(token.kind)) {
        open -= 1;
      }
    }
  } catch (err) {
    // A syntax error: the parser reports it properly; the counts so far are within limits.
    if (!(err instanceof GraphQLError)) throw err;
  }
  return { tokens, directives, nesting };
}
