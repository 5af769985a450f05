import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { DriverException } from '@mikro-orm/core';
import { createErrorFormatter } from './format-error.ts';
import { createLogger } from '../logger.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

const logger = createLogger('test', 'silent');
/** As a subgraph formats errors: its own database's outages are SERVICE_UNAVAILABLE. */
const format = createErrorFormatter(logger, { isUnavailable: isDatabaseUnavailable });

/** What Apollo Server hands formatError for an error thrown by a resolver at `path`. */
function resolverError(original: Error) {
  const error = new GraphQLError(original.message, { path: ['product', 'stock'], originalError: original });
  return { formatted: { message: original.message, path: ['product', 'stock'] }, error };
}

describe('the error formatter', () => {
  it('answers SERVICE_UNAVAILABLE, without the driver text, when the database cannot be reached', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' });
    const { formatted, error } = resolverError(new DriverException(refused));
    const answer = format(formatted, error);
    expect(answer.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(answer.path).toEqual(['product', 'stock']);
    expect(answer.message).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|5432/);
  });

  it('leaves a refused connection masked where no dependency is declared (the gateway)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:4003'), { code: 'ECONNREFUSED' });
    const { formatted, error } = resolverError(refused);
    expect(createErrorFormatter(logger)(formatted, error).extensions).toEqual({
      code: 'INTERNAL_SERVER_ERROR',
    });
  });

  it('still masks any other database error as INTERNAL_SERVER_ERROR', () => {
    const syntax = Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' });
    const { formatted, error } = resolverError(syntax);
    const answer = format(formatted, error);
    expect(answer).toEqual({
      message: 'Internal server error',
      path: ['product', 'stock'],
      locations: undefined,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });
});
