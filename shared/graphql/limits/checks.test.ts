import { describe, expect, it } from '@jest/globals';
import { parse, type OperationDefinitionNode } from 'graphql';
import { scanDocument } from './document-scan.ts';
import {
  checkDocumentStrings,
  checkVariables,
  MAX_VARIABLE_NESTING,
  MAX_VARIABLE_VALUES,
} from './input-guard.ts';

const LIMITS = { maxTokens: 100, maxDirectives: 3, maxNesting: 5, maxFieldRepeats: 3 };

describe('scanDocument', () => {
  it('counts tokens (comments aside), directives and the deepest nesting', () => {
    expect(scanDocument('# a comment\n{ a(x: [1]) @skip(if: false) { b } }', LIMITS)).toEqual({
      tokens: 20,
      directives: 1,
      nesting: 3,
      repeats: 1,
    });
  });

  it('stops at the first limit broken', () => {
    const fields = Array.from({ length: 200 }, (_, i) => ` a${i}`).join('');
    expect(scanDocument(`{${fields}}`, LIMITS)).toMatchObject({ exceeded: 'tokens', tokens: 101 });
    expect(scanDocument('{ a @x @y @z @w }', LIMITS)).toMatchObject({ exceeded: 'directives' });
    expect(
      scanDocument(`{ a(x: ${'['.repeat(3000)}1${']'.repeat(3000)}) }`, { ...LIMITS, maxTokens: 1e6 }),
    ).toMatchObject({ exceeded: 'nesting', nesting: 6 });
  });

  it('counts the fields of one response key in a selection set, its inline fragments included', () => {
    const repeats = (text: string) => scanDocument(text, { ...LIMITS, maxTokens: 1e6 }).repeats;
    expect(repeats('{ me { id } me { id } me: me { id } x: me { id } }')).toBe(3);
    // An alias is the key; the field it names is not.
    expect(repeats('{ a: me b: me c: me }')).toBe(1);
    // Inline fragments merge into their parent; a sub-selection or a named fragment does not.
    expect(repeats('{ id ... on User { id } ... @include(if: true) { id } me { id } ...F }')).toBe(3);
    expect(repeats('fragment F on User { id id } query { id }')).toBe(2);
    // Arguments, directives and input objects select nothing.
    expect(repeats('query($id: ID) { a(id: $id, x: { id: 1, id: 2 }) @d(id: 1) @d(id: 2) { id } }')).toBe(1);
    expect(scanDocument(`{ ${'me { id } '.repeat(600)} }`, { ...LIMITS, maxTokens: 1e6 })).toMatchObject({
      exceeded: 'repeats',
      repeats: 4,
    });
  });

  it('leaves syntax errors to the parser', () => {
    expect(scanDocument('{ a "unterminated', LIMITS)).toEqual({
      tokens: 2,
      directives: 0,
      nesting: 1,
      repeats: 1,
    });
  });
});

describe('input guard', () => {
  it('refuses a NUL in any string literal of the document', () => {
    expect(() => checkDocumentStrings(parse('{ a(x: "ok", y: ["\\u0000"]) }'))).toThrow(/NUL/);
    expect(() => checkDocumentStrings(parse('{ a(x: "ok") }'))).not.toThrow();
  });

  /** The variable definitions of an operation declaring these names. */
  const declaring = (...names: string[]) =>
    (
      parse(`query(${names.map((n) => `$${n}: String`).join(', ')}) { a }`)
        .definitions[0] as OperationDefinitionNode
    ).variableDefinitions;

  it('refuses a NUL anywhere in the variables, and variables nested too deeply', () => {
    expect(() => checkVariables({ a: { b: ['x', 'y\u0000'] } }, declaring('a'))).toThrow(
      /"\$a" contains the NUL/,
    );
    let deep: unknown = 'x';
    for (let i = 0; i < 3000; i += 1) deep = [deep];
    expect(() => checkVariables({ deep }, declaring('deep'))).toThrow(/nested more than/);
    let fine: unknown = 'x';
    for (let i = 0; i < MAX_VARIABLE_NESTING; i += 1) fine = { f: fine };
    expect(() => checkVariables({ fine, n: null, k: 3 }, declaring('fine', 'n', 'k'))).not.toThrow();
  });

  it('refuses a string with a lone surrogate, which is not Unicode', () => {
    expect(() => checkVariables({ name: 'a\ud800b' }, declaring('name'))).toThrow(
      /"\$name" contains a lone UTF-16 surrogate/,
    );
    expect(() => checkVariables({ name: 'a\ud83d\ude00b' }, declaring('name'))).not.toThrow();
  });

  it('refuses variables holding more values than any input needs', () => {
    const many = Array.from({ length: MAX_VARIABLE_VALUES }, () => 0);
    expect(() => checkVariables({ many }, declaring('many'))).toThrow(/more than 10000 values/);
    expect(() => checkVariables({ many: many.slice(1) }, declaring('many'))).not.toThrow();
  });

  it('reads only the variables the operation declares, as graphql-js does', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 3000; i += 1) deep = [deep];
    const undeclared = {
      deep,
      nul: '\u0000',
      many: Array.from({ length: 2 * MAX_VARIABLE_VALUES }, () => 0),
    };
    expect(() => checkVariables({ ...undeclared, a: 'ok' }, declaring('a'))).not.toThrow();
    expect(() => checkVariables(undeclared, undefined)).not.toThrow();
  });
});
