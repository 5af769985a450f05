import { describe, expect, it } from '@jest/globals';
import { checkOutcome } from './checks.ts';
import type { HttpProbe, Outcome, WsProbe } from './probe.ts';

const http: HttpProbe = {
  transport: 'http',
  family: 'test',
  target: 'gateway',
  method: 'POST',
  path: '/graphql',
  headers: {},
  auth: 'anonymous',
};
const ws: WsProbe = { transport: 'ws', family: 'test', auth: 'anonymous', frames: [] };
const classes = (probe: HttpProbe | WsProbe, outcome: Partial<Outcome>) =>
  checkOutcome(probe, { body: '', ms: 1, ...outcome }).map((v) => v.cls);
const errors = (...list: unknown[]) => JSON.stringify({ errors: list });

describe('checkOutcome', () => {
  it('accepts a coded refusal and a plain answer', () => {
    expect(
      classes(http, {
        status: 400,
        body: errors({ message: 'bad', extensions: { code: 'BAD_USER_INPUT' } }),
      }),
    ).toEqual([]);
    expect(classes(http, { status: 200, body: '{"data":{"__typename":"Query"}}' })).toEqual([]);
  });

  it('flags a masked 500, an uncoded error and a refusal without a body', () => {
    const masked = errors({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(classes(http, { status: 500, body: masked })).toEqual(['server-error', 'internal-error']);
    expect(classes(http, { status: 200, body: errors({ message: 'oops' }) })).toEqual(['missing-code']);
    expect(classes(http, { status: 415, body: '' })).toEqual(['missing-code']);
    expect(
      classes(http, { status: 400, body: errors({ message: 'x', extensions: { code: 'WHATEVER' } }) }),
    ).toEqual(['uncontracted-code']);
  });

  it('expects no body from a HEAD answer', () => {
    expect(classes({ ...http, method: 'HEAD' }, { status: 405, body: '' })).toEqual([]);
  });

  it('allows a 503 that says a dependency is unavailable', () => {
    const body = errors({ message: 'down', extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(classes(http, { status: 503, body })).toEqual([]);
  });

  it('finds leaks of internals', () => {
    const leak = (message: string) =>
      classes(http, { status: 400, body: errors({ message, extensions: { code: 'BAD_USER_INPUT' } }) });
    expect(leak('Maximum call stack size exceeded')).toEqual(['leak']);
    expect(leak('at parse (/work/main/gateway/src/x.ts:12:5)')).toEqual(['leak']);
    expect(leak('syntax error at or near "x"')).toEqual(['leak']);
    expect(leak('Unexpected token } in JSON at position 3')).toEqual(['leak']);
    expect(leak('Variable "$v0" got invalid value "x" at "v0.quantity"; Int cannot represent it')).toEqual(
      [],
    );
  });

  it('reads SSE events and WebSocket messages and close codes', () => {
    const events = [{ event: 'next', data: errors({ message: 'Invalid query' }) }];
    expect(classes(http, { status: 200, events })).toEqual(['missing-code']);
    const error = JSON.stringify({ id: '1', type: 'error', payload: [{ message: 'no' }] });
    expect(classes(ws, { status: 101, body: error })).toEqual(['missing-code']);
    expect(classes(ws, { status: 101, wsClose: { code: 4500, reason: 'x' } })).toEqual(['internal-error']);
    expect(classes(ws, { status: 101, wsClose: { code: 4400, reason: 'Invalid message received' } })).toEqual(
      [],
    );
    expect(classes(ws, { status: 101, wsClose: { code: 1006, reason: '' } })).toEqual(['missing-code']);
  });

  it('counts hung and dropped requests, and a hung keep-alive follow-up', () => {
    expect(classes(http, { hung: 'no answer' })).toEqual(['hung']);
    expect(classes(http, { dropped: 'ECONNRESET' })).toEqual(['dropped']);
    const followUp: Outcome = { body: '', ms: 1, hung: 'no answer' };
    const refused = errors({ message: 'too large', extensions: { code: 'BAD_USER_INPUT' } });
    expect(classes({ ...http, followUp: true }, { status: 413, body: refused, followUp })).toEqual(['hung']);
  });
});
