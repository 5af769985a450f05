// A pass over a document's tokens before it is parsed: how many tokens, how many directives,
// how deeply `{`, `[` and `(` nest, and how often one response key is selected in one selection
// set. graphql-js parses and validates recursively, so a few kilobytes of `[[[[…` or
// `{...on Query{…` overflow the stack (an engine message and a 500) before any analysis of the
// tree could refuse them; graphql-js's own `maxTokens` bounds the size but not the nesting. And
// its check that fields of one response key can be merged compares every pair of them: 600
// `me { id }` in one selection set (6 KB) cost over 100 ms of CPU per request before validation
// gave up with "Validation aborted". The lexer is a loop, so this pass costs one step per token
// and stops at the first limit broken.
import { GraphQLError, Lexer, Source, TokenKind, type Token } from 'graphql';

export interface DocumentLimits {
  readonly maxTokens: number;
  readonly maxDirectives: number;
  /** `{`, `[` and `(` open at once. */
  readonly maxNesting: number;
  /** Fields of one response key in one selection set (its inline fragments included). */
  readonly maxFieldRepeats: number;
}

export type DocumentLimitName = 'tokens' | 'directives' | 'nesting' | 'repeats';

export interface DocumentScan {
  readonly tokens: number;
  readonly directives: number;
  readonly nesting: number;
  /** The most fields of one response key in one selection set. */
  readonly repeats: number;
  /** The first limit broken (counting stopped there), if any. */
  readonly exceeded?: DocumentLimitName;
}

const OPENING = new Set<string>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<string>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * An open `{`, `[` or `(`. A `{` is a selection set at the top level or in a selection set
 * (else it is an input object); an inline fragment's shares its parent's keys, as graphql-js
 * merges them. `keys` counts the response keys selected directly in a selection set.
 */
interface Frame {
  readonly keys: Map<string, number> | undefined;
}

/** Tokens at a selection set's own level after which a name is not a response key. */
const NOT_A_KEY_AFTER = new Set<string>([TokenKind.SPREAD, TokenKind.AT, TokenKind.COLON]);

/** Counts the response keys of selection sets, token by token; returns the largest count so far. */
class SelectionKeys {
  readonly #frames: Frame[] = [];
  /** The token before, at the innermost frame's own level. */
  #previous: Token | undefined;
  /** Within `... on Type` or `... @dir`: a `{` now opens an inline fragment. */
  #inFragment = false;
  most = 0;

  see(token: Token): void {
    const frame = this.#frames.at(-1);
    if (token.kind === TokenKind.BRACE_L) {
      const selecting = !frame || frame.keys !== undefined;
      const keys = !selecting
        ? undefined
        : this.#inFragment && frame
          ? frame.keys
          : new Map<string, number>();
      this.#frames.push({ keys });
      this.#inFragment = false;
      this.#previous = undefined;
      return;
    }
    if (token.kind === TokenKind.BRACKET_L || token.kind === TokenKind.PAREN_L) {
      this.#frames.push({ keys: undefined });
      this.#previous = undefined;
      return;
    }
    if (CLOSING.has(token.kind)) {
      this.#frames.pop();
      this.#previous = token;
      return;
    }
    if (frame?.keys) {
      if (token.kind === TokenKind.SPREAD) this.#inFragment = true;
      else if (
        token.kind === TokenKind.NAME &&
        !this.#inFragment &&
        !NOT_A_KEY_AFTER.has(this.#previous?.kind ?? '')
      ) {
        const count = (frame.keys.get(token.value) ?? 0) + 1;
        frame.keys.set(token.value, count);
        if (count > this.most) this.most = count;
      } else if (
        token.kind === TokenKind.NAME &&
        this.#inFragment &&
        this.#previous?.kind === TokenKind.SPREAD &&
        token.value !== 'on'
      ) {
        // `...Name`: a named fragment's spread, not an inline fragment.
        this.#inFragment = false;
      }
    }
    this.#previous = token;
  }
}

export function scanDocument(text: string, limits: DocumentLimits): DocumentScan {
  const lexer = new Lexer(new Source(text));
  const keys = new SelectionKeys();
  let tokens = 0;
  let directives = 0;
  let open = 0;
  let nesting = 0;
  const scan = (exceeded?: DocumentLimitName): DocumentScan => ({
    tokens,
    directives,
    nesting,
    repeats: keys.most,
    ...(exceeded && { exceeded }),
  });
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      tokens += 1;
      if (tokens > limits.maxTokens) return scan('tokens');
      if (token.kind === TokenKind.AT) {
        directives += 1;
        if (directives > limits.maxDirectives) return scan('directives');
      } else if (OPENING.has(token.kind)) {
        open += 1;
        nesting = Math.max(nesting, open);
        if (nesting > limits.maxNesting) return scan('nesting');
      } else if (CLOSING.has(token.kind)) {
        open -= 1;
      }
      keys.see(token);
      if (keys.most > limits.maxFieldRepeats) return scan('repeats');
    }
  } catch (err) {
    // A syntax error: the parser reports it properly; the counts so far are within limits.
    if (!(err instanceof GraphQLError)) throw err;
  }
  return scan();
}
