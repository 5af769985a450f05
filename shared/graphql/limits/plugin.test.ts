import { describe, expect, it } from '@jest/globals';
import { ApolloServer } from '@apollo/server';
import { buildSchema } from 'graphql';
import { readQueryLimits } from './config.ts';
import { hardenedApolloOptions, queryLimitsPlugin } from './plugin.ts';

const schema = buildSchema(`
  type Query { products(category: String, first: Int = 20): [Product!]! }
  type Product { id: ID! name: String! }
  type Subscription { changed: Product }
`);
const limits = readQueryLimits({ MAX_QUERY_COST: '100' });

async function server(production: boolean) {
  const apollo = new ApolloServer({
    schema,
    ...hardenedApolloOptions(limits, production),
    plugins: [queryLimitsPlugin(limits)],
  });
  await apollo.start();
  return apollo;
}

async function errorsOf(apollo: ApolloServer, request: Parameters<ApolloServer['executeOperation']>[0]) {
  const response = await apollo.executeOperation(request);
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return (response.body.singleResult.errors ?? []).map((e) => ({
    code: e.extensions?.code,
    message: e.message,
    status: response.http.status,
  }));
}

describe('hardenedApolloOptions', () => {
  it('hides "Did you mean" suggestions in production only', async () => {
    const [production, development] = [await server(true), await server(false)];
    try {
      const query = '{ prodcts { id } }';
      expect((await errorsOf(development, { query }))[0]!.message).toMatch(/Did you mean "products"/);
      const hidden = (await errorsOf(production, { query }))[0]!.message;
      expect(hidden).toMatch(/Cannot query field "prodcts"/);
      expect(hidden).not.toMatch(/Did you mean|products/);
    } finally {
      await Promise.all([production.stop(), development.stop()]);
    }
  });

  it('stops parsing past the token cap, even for a document that skipped the text checks', async () => {
    const apollo = await server(false);
    try {
      const [error] = await errorsOf(apollo, { query: `{${' products { id }'.repeat(1500)} }` });
      expect(error!.message).toMatch(/5000 tokens/);
    } finally {
      await apollo.stop();
    }
  });
});

describe('queryLimitsPlugin', () => {
  it('answers what cannot run over HTTP with 400 BAD_USER_INPUT, and limits with QUERY_TOO_COMPLEX', async () => {
    const apollo = await server(false);
    try {
      const two = 'query A { __typename } query B { __typename }';
      const cases: [Parameters<ApolloServer['executeOperation']>[0], string, RegExp][] = [
        [{ query: two }, 'BAD_USER_INPUT', /several operations/],
        [{ query: two, operationName: 'C' }, 'BAD_USER_INPUT', /no operation named "C"/],
        [{ query: 'subscription { changed { id } }' }, 'BAD_USER_INPUT', /WebSocket/],
        [{ query: '{ products(category: "a\\u0000") { id } }' }, 'BAD_USER_INPUT', /NUL/],
        [
          { query: 'query ($c: String) { products(category: $c) { id } }', variables: { c: '\u0000' } },
          'BAD_USER_INPUT',
          /NUL/,
        ],
        [{ query: '{ products(first: 1000) { id } }' }, 'QUERY_TOO_COMPLEX', /budget is 100/],
      ];
      for (const [request, code, message] of cases) {
        expect(await errorsOf(apollo, request)).toEqual([
          { code, message: expect.stringMatching(message), status: 400 },
        ]);
      }
      expect(await errorsOf(apollo, { query: two, operationName: 'B' })).toEqual([]);
    } finally {
      await apollo.stop();
    }
  });
});
