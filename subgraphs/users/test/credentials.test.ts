import { describe, expect, it } from '@jest/globals';
import { parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { BadUserInputError } from '../../../shared/errors.ts';
import { isValidEmail, normalizeEmail, validateName } from '../src/domain/validation.ts';
import { countCredentialFields } from '../src/resolvers/credential-fields.ts';

function countIn(source: string): number {
  const document = parse(source);
  const operation = document.definitions.find(
    (d) => d.kind === 'OperationDefinition',
  ) as OperationDefinitionNode;
  const fragments = Object.fromEntries(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === 'FragmentDefinition')
      .map((d) => [d.name.value, d]),
  );
  return countCredentialFields(operation, fragments);
}

describe('countCredentialFields', () => {
  it('counts login and register root fields by response key, through aliases and fragments', () => {
    expect(countIn('mutation { login(email: "a", password: "b") { token } }')).toBe(1);
    expect(
      countIn(
        'mutation { a: login(email: "a", password: "b") { token } b: login(email: "a", password: "c") { token } }',
      ),
    ).toBe(2);
    expect(
      countIn(`mutation { ...F ... on Mutation { register(input: { email: "", password: "", name: "" }) { token } } }
               fragment F on Mutation { login(email: "a", password: "b") { token } }`),
    ).toBe(2);
    expect(
      countIn('mutation { ...F ...F } fragment F on Mutation { login(email: "a", password: "b") { token } }'),
    ).toBe(1);
    expect(countIn('query { me { id } }')).toBe(0);
  });
});

describe('emails', () => {
  it('accepts an address and refuses control characters, spaces and over-long ones', () => {
    expect(isValidEmail('ada@example.com')).toBe(true);
    for (const bad of [
      '\u0000ada@example.com',
      'ada@exa\u0007mple.com',
      'a da@example.com',
      'ada@example',
      `${'a'.repeat(250)}@example.com`,
    ]) {
      expect(isValidEmail(bad)).toBe(false);
      expect(() => normalizeEmail(bad)).toThrow(BadUserInputError);
    }
  });

  it('registers only addresses the user events can carry; signs in with any well-formed one', () => {
    expect(normalizeEmail(' Ada.Lovelace+shop@Example.COM ')).toBe('ada.lovelace+shop@example.com');
    for (const undeliverable of ['ada@example.c', 'adä@example.com', 'ada@exa_mple.com']) {
      expect(isValidEmail(undeliverable)).toBe(true);
      expect(() => normalizeEmail(undeliverable)).toThrow(BadUserInputError);
    }
  });

  it('refuses control characters in a name', () => {
    expect(validateName(' Ada ')).toBe('Ada');
    expect(() => validateName('Ada\u0000')).toThrow(BadUserInputError);
  });
});
