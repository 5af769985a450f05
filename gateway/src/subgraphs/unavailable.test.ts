import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { createGatewayErrorFormatter } from '../errors.ts';
import { dedupeUnavailable } from './unavailable-plugin.ts';
import { SubgraphUnavailableError, unavailabilityOf } from './unavailable.ts';

/** undici's fetch failing for want of a connection: a TypeError caused by the socket error. */
function fetchFailed(code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
}

/** RemoteGraphQLDataSource's error for a non-2xx answer. */
function httpError(status: number): GraphQLError {
  return new GraphQLError(`${status}: x`, {
    extensions: { response: { url: 'http://10.0.0.7:4003/graphql', status, body: 'x' } },
  });
}

describe('unavailabilityOf', () => {
  it('names a refused or reset connection unreachable', () => {
    expect(unavailabilityOf(fetchFailed('ECONNREFUSED'))).toBe('unreachable');
    expect(unavailabilityOf(fetchFailed('ECONNRESET'))).toBe('unreachable');
    expect(unavailabilityOf(new TypeError('terminated'))).toBe('unreachable');
  });

  it('names the time limit and undici timeouts timeout', () => {
    expect(unavailabilityOf(new DOMException('signal timed out', 'TimeoutError'))).toBe('timeout');
    expect(unavailabilityOf(fetchFailed('UND_ERR_HEADERS_TIMEOUT'))).toBe('timeout');
  });

  it('names 502, 503 and 504 unavailable', () => {
    for (const status of [502, 503, 504]) expect(unavailabilityOf(httpError(status))).toBe('unavailable');
  });

  it('leaves answers of a subgraph that is up alone: 400, 500, a body that is not JSON, a bug', () => {
    expect(unavailabilityOf(httpError(400))).toBeUndefined();
    expect(unavailabilityOf(httpError(500))).toBeUndefined();
    expect(unavailabilityOf(new Error('Expected JSON response body, but received: <html>'))).toBeUndefined();
    expect(
      unavailabilityOf(new TypeError("Cannot read properties of undefined (reading 'x')")),
    ).toBeUndefined();
  });
});

describe('the gateway formatter and a SubgraphUnavailableError', () => {
  const format = createGatewayErrorFormatter(pino({ level: 'silent' }));

  it('shows the code and the service, nothing else', () => {
    const error = new SubgraphUnavailableError('inventory', 'unreachable');
    const formatted = format(error.toJSON(), error);
    expect(formatted.extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', service: 'inventory' });
    expect(formatted.message).toContain('inventory');
  });

  it('recognises it wrapped in another GraphQLError', () => {
    const inner = new SubgraphUnavailableError('payments', 'timeout');
    const wrapped = new GraphQLError('wrapped', { originalError: inner });
    expect(format(wrapped.toJSON(), wrapped).extensions).toEqual({
      code: 'SUBGRAPH_UNAVAILABLE',
      service: 'payments',
    });
  });
});

describe('dedupeUnavailable', () => {
  it('keeps one SUBGRAPH_UNAVAILABLE error per service and every other error', () => {
    const down = (service: string) => ({
      message: service,
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', service },
    });
    const other = { message: 'no', extensions: { code: 'FORBIDDEN' } };
    expect(dedupeUnavailable([down('users'), other, down('users'), down('products'), other])).toEqual([
      down('users'),
      other,
      down('products'),
      other,
    ]);
  });
});
