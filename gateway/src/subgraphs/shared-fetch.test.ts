import { describe, expect, it } from '@jest/globals';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { copyResponse, fetchKey, mayShare, type SubgraphResponse } from './shared-fetch.ts';

type Options = GraphQLDataSourceProcessOptions<Record<string, unknown>>;

/** The options @apollo/gateway passes for a fetch of a client operation of type `operation`. */
function incoming(operation: 'query' | 'mutation' | 'subscription'): Options {
  return {
    kind: 'incoming operation',
    request: { query: '{ a }' },
    incomingRequestContext: { operation: { operation } },
    context: {},
  } as unknown as Options;
}

describe('mayShare', () => {
  it('shares the fetches of client queries only', () => {
    expect(mayShare(incoming('query'))).toBe(true);
    expect(mayShare(incoming('mutation'))).toBe(false);
    expect(mayShare(incoming('subscription'))).toBe(false);
  });

  it('never shares health checks or schema loading', () => {
    const healthCheck = { kind: 'health check', request: { query: '{ __typename }' }, context: {} };
    expect(mayShare(healthCheck as unknown as Options)).toBe(false);
  });
});

describe('fetchKey', () => {
  const request = { query: 'query($id: ID!) { order(id: $id) { id } }', variables: { id: '1' } };
  const alice = { authorization: 'Bearer alice', 'x-service-token': 's' };

  it('is equal for the same document, variables and credentials', () => {
    expect(fetchKey({ ...request }, { ...alice })).toBe(fetchKey(request, alice));
    // Header order does not matter.
    expect(fetchKey(request, { 'x-service-token': 's', authorization: 'Bearer alice' })).toBe(
      fetchKey(request, alice),
    );
  });

  it.each([
    ['another user', request, { ...alice, authorization: 'Bearer bob' }],
    ['an anonymous caller', request, { 'x-service-token': 's' }],
    ['another service token', request, { ...alice, 'x-service-token': 't' }],
    ['other variables', { ...request, variables: { id: '2' } }, alice],
    ['another document', { ...request, query: '{ me { id } }' }, alice],
    ['another operation name', { ...request, operationName: 'Other' }, alice],
    ['other extensions', { ...request, extensions: { x: 1 } }, alice],
  ])('differs for %s', (_, other, credentials) => {
    expect(fetchKey(other, credentials)).not.toBe(fetchKey(request, alice));
  });

  it('cannot be forged by values that look like the key’s own punctuation', () => {
    expect(fetchKey({ query: 'a', operationName: 'b' }, {})).not.toBe(fetchKey({ query: 'a","b' }, {}));
  });
});

describe('copyResponse', () => {
  it('copies the parsed body deeply and shares the HTTP response', () => {
    const http = { status: 200 } as unknown as SubgraphResponse['http'];
    const response: SubgraphResponse = {
      data: { order: { items: [{ id: '1' }] } },
      errors: [{ message: 'x', path: ['order'] } as never],
      extensions: { cost: 1 },
      http,
    };
    const copy = copyResponse(response);
    expect(copy).toEqual(response);
    expect(copy.data).not.toBe(response.data);
    expect((copy.data as { order: unknown }).order).not.toBe((response.data as { order: unknown }).order);
    expect(copy.errors).not.toBe(response.errors);
    expect(copy.extensions).not.toBe(response.extensions);
    expect(copy.http).toBe(http);
  });

  it('leaves out what the response does not have', () => {
    expect(copyResponse({ data: null })).toEqual({ data: null });
    expect('errors' in copyResponse({ data: {} })).toBe(false);
  });
});
