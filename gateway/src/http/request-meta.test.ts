import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { childTraceparent, clientAddress, parseTraceparent } from './request-meta.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('W3C trace context', () => {
  it('reads a valid traceparent', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-00f067aa0ba902b7-01`)).toEqual({
      traceId: TRACE_ID,
      flags: '01',
    });
  });

  it.each([
    undefined,
    '',
    'garbage',
    `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    `ff-${TRACE_ID}-00f067aa0ba902b7-01`,
  ])('ignores %j', (value) => expect(parseTraceparent(value)).toBeUndefined());

  it('continues the trace with a new span id for each call', () => {
    const a = childTraceparent({ traceId: TRACE_ID, flags: '01' });
    const b = childTraceparent({ traceId: TRACE_ID, flags: '01' });
    expect(a).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(a).not.toBe(b);
  });
});

describe('clientAddress', () => {
  const req = (forwarded?: string) =>
    ({
      socket: { remoteAddress: '10.0.0.9' },
      headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
    }) as unknown as IncomingMessage;

  it('uses the socket peer when no proxy is trusted, whatever the headers say', () => {
    expect(clientAddress(req('1.2.3.4'), 0)).toBe('10.0.0.9');
  });

  it('reads X-Forwarded-For from the right, one entry per trusted proxy', () => {
    expect(clientAddress(req('6.6.6.6, 1.2.3.4'), 1)).toBe('1.2.3.4');
    expect(clientAddress(req('6.6.6.6, 1.2.3.4, 10.0.0.2'), 2)).toBe('1.2.3.4');
    expect(clientAddress(req(), 1)).toBe('10.0.0.9');
  });
});
