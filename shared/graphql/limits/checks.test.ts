import { describe, expect, it } from '@jest/globals';
import { parse } from 'graphql';
import { scanDocument } from './document-scan.ts';
import { checkDocumentStrings, checkVariables, MAX_VARIABLE_NESTING } from './input-guard.ts';

const LIMITS = { maxTokens: 100, maxDirectives: 3, maxNesting: 5 };

describe('scanDocument', () => {
  it('counts tokens (comments aside), directives and the deepest nesting', () => {
    expect(scanDocument('# a comment\n{ a(x: [1]) @skip(if: false) { b } }', LIMITS)).toEqual({
      tokens: 20,
      directives: 1,
      nesting: 3,
    });
  });

  it('stops at the first limit broken', () => {
    expect(scanDocument(`{${' a'.repeat(200)}}`, LIMITS)).toMatchObject({ exceeded: 'tokens', tokens: 101 });
    expect(scanDocument('{ a @x @y @z @w }', LIMITS)).toMatchObject({ exceeded: 'directives' });
    expect(
      scanDocument(`{ a(x: ${'['.repeat(3000)}1${']'.repeat(3000)}) }`, { ...LIMITS, maxTokens: 1e6 }),
    ).toMatchObject({ exceeded: 'nesting', nesting: 6 });
  });

  it('leaves syntax errors to the parser', () => {
    expect(scanDocument('{ a "unterminated', LIMITS)).toEqual({ tokens: 2, directives: 0, nesting: 1 });
  });
});

describe('input guard', () => {
  it('refuses a NUL in any string literal of the document', () => {
    expect(() => checkDocumentStrings(parse('{ a(x: "ok", y: ["\\u0000"]) }'))).toThrow(/NUL/);
    expect(() => checkDocumentStrings(parse('{ a(x: "ok") }'))).not.toThrow();
  });

  it('refuses a NUL anywhere in the variables, and variables nested too deeply', () => {
    expect(() => checkVariables({ a: { b: ['x', 'y\u0000'] } })).toThrow(/"\$a" contains the NUL/);
    let deep: unknown = 'x';
    for (let i = 0; i < 3000; i += 1) deep = [deep];
    expect(() => checkVariables({ deep })).toThrow(/nested more than/);
    let fine: unknown = 'x';
    for (let i = 0; i < MAX_VARIABLE_NESTING; i += 1) fine = { f: fine };
    expect(() => checkVariables({ fine, n: null, k: 3 })).not.toThrow();
  });
});
