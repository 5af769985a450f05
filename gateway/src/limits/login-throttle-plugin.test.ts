import { describe, expect, it } from '@jest/globals';
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { credentialFields, emailArgument, loginOutcome } from './login-throttle-plugin.ts';

const schema = buildSchema(`
  type Query { me: String }
  input RegisterInput { email: String! password: String! name: String! }
  type Mutation { login(email: String!, password: String!): String register(input: RegisterInput!): String other: String }
`);

function operationOf(source: string) {
  const document = parse(source);
  const operation = document.definitions.find(
    (d) => d.kind === 'OperationDefinition',
  ) as OperationDefinitionNode;
  return { document, operation };
}
const keysOf = (source: string) => {
  const { document, operation } = operationOf(source);
  return credentialFields(document, operation).map((f) => `${f.name}:${f.responseKey}`);
};

describe('credentialFields', () => {
  it('finds login and register root fields, aliases and fragments included', () => {
    expect(keysOf('mutation { other }')).toEqual([]);
    expect(keysOf('mutation { login(email: "a", password: "b") }')).toEqual(['login:login']);
    expect(
      keysOf('mutation { a: login(email: "a", password: "b") b: login(email: "a", password: "c") }'),
    ).toEqual(['login:a', 'login:b']);
    expect(
      keysOf(`mutation { ...F ... on Mutation { register(input: { email: "", password: "", name: "" }) } }
              fragment F on Mutation { x: login(email: "a", password: "b") ...G } fragment G on Mutation { other }`),
    ).toEqual(['login:x', 'register:register']);
  });

  it('counts one field spelt twice under the same key once, as it executes', () => {
    expect(
      keysOf('mutation { ...F ...F } fragment F on Mutation { login(email: "a", password: "b") }'),
    ).toEqual(['login:login']);
  });

  it('ignores queries', () => {
    expect(keysOf('query { login: me }')).toEqual([]);
  });
});

describe('emailArgument', () => {
  const emailOf = (source: string, variables: Record<string, unknown> = {}) => {
    const { document, operation } = operationOf(source);
    const [field] = credentialFields(document, operation);
    return emailArgument(schema, operation, field!.node, variables);
  };

  it('reads a literal, a variable or its default', () => {
    expect(emailOf('mutation { login(email: "a@x.io", password: "p") }')).toBe('a@x.io');
    expect(emailOf('mutation($e: String!) { login(email: $e, password: "p") }', { e: 'b@x.io' })).toBe(
      'b@x.io',
    );
    expect(emailOf('mutation($e: String! = "c@x.io") { login(email: $e, password: "p") }')).toBe('c@x.io');
  });

  it('is empty when the variables do not fit', () => {
    expect(emailOf('mutation($e: String!) { login(email: $e, password: "p") }', { e: 5 })).toBe('');
    expect(emailOf('mutation($e: String!) { login(email: $e, password: "p") }')).toBe('');
  });
});

describe('loginOutcome', () => {
  const single = (singleResult: object) => ({ kind: 'single', singleResult }) as const;

  it('tells a failed, a successful and an abandoned login apart', () => {
    const failed = single({
      data: null,
      errors: [{ message: 'x', path: ['l'], extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect(loginOutcome(failed, 'l')).toBe('failed');
    expect(loginOutcome(single({ data: { l: { token: 't' } } }), 'l')).toBe('succeeded');
    const invalid = single({ errors: [{ message: 'x', extensions: { code: 'BAD_USER_INPUT' } }] });
    expect(loginOutcome(invalid, 'l')).toBe('abandoned');
    const elsewhere = single({
      data: null,
      errors: [{ message: 'x', path: ['m'], extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect(loginOutcome(elsewhere, 'l')).toBe('abandoned');
  });
});
