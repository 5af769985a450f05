import { describe, expect, it } from '@jest/globals';
import { ConnectionException, DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { isDatabaseUnavailable } from './unavailable.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    [
      'an administrator shutdown (57P01)',
      withCode('terminating connection due to administrator command', '57P01'),
    ],
    ['a server starting up (57P03)', withCode('the database system is starting up', '57P03')],
    ['a connection exception (08006)', withCode('connection failure', '08006')],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['a connection that died', new Error('Connection terminated unexpectedly')],
    ['a connect timeout', new Error('Connection terminated due to connection timeout')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['a broken client', new Error('Client has encountered a connection error and is not queryable')],
    ["MikroORM's ConnectionException", new ConnectionException(new Error('gone'))],
    [
      'a driver error wrapping a refusal',
      new DriverException(withCode('connect ECONNREFUSED', 'ECONNREFUSED')),
    ],
    ['a cause chain', new Error('handler failed', { cause: withCode('x', '57P01') })],
    [
      'an AggregateError of refusals',
      new AggregateError([withCode('connect ECONNREFUSED ::1', 'ECONNREFUSED')]),
    ],
  ])('is true for %s', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', new UniqueConstraintViolationException(withCode('duplicate key', '23505'))],
    ['a serialization failure', withCode('could not serialize access', '40001')],
    ['a syntax error', withCode('syntax error at or near "selec"', '42601')],
    ['an ordinary error', new Error('out of stock')],
    ['a message that merely mentions a connection', new Error('the Connection terminated field is invalid')],
    ['not an error', 'ECONNREFUSED'],
    ['undefined', undefined],
  ])('is false for %s', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});
