import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { createGatewayErrorFormatter } from './errors.ts';

const logger = pino({ level: 'silent' });
const format = createGatewayErrorFormatter(logger);

/** What @apollo/gateway makes of an error a subgraph returned. */
function fromSubgraph(error: { message: string; extensions?: Record<string, unknown> }) {
  const wrapped = new GraphQLError(error.message, {
    originalError: error as unknown as Error,
    extensions: { ...error.extensions, serviceName: 'users' },
  });
  return format(wrapped.toJSON(), wrapped);
}

describe('gateway error formatter', () => {
  it("keeps a subgraph's contract code and details, without serviceName", () => {
    expect(
      fromSubgraph({ message: 'User 7 was not found', extensions: { code: 'NOT_FOUND', id: '7' } }),
    ).toEqual({
      message: 'User 7 was not found',
      extensions: { code: 'NOT_FOUND', id: '7' },
    });
  });

  it('drops the internal URL of a failed subgraph call', () => {
    const error = new GraphQLError('401: Unauthorized', {
      extensions: {
        code: 'UNAUTHENTICATED',
        serviceName: 'users',
        response: { url: 'http://users.internal:4001/graphql', status: 401, body: 'no' },
      },
    });
    expect(format(error.toJSON(), error)).toEqual({
      message: '401: Unauthorized',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('masks anything without a contract code', () => {
    const leaky = fromSubgraph({
      message: 'relation "users" does not exist at db.internal:5432',
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', stacktrace: ['at pg'] },
    });
    expect(leaky).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    const plain = new Error('connect ECONNREFUSED 10.0.0.3:4001');
    expect(format({ message: plain.message }, plain)).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });
});
