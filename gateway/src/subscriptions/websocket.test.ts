import { describe, expect, it } from '@jest/globals';
import { refuseServerMessages } from './websocket.ts';

const parse = (text: string): unknown => JSON.parse(text, refuseServerMessages);

describe('refuseServerMessages', () => {
  it.each(['connection_ack', 'next', 'error', 'pong_from_server', 'nonsense'])(
    'refuses a client message of type %s',
    (type) => {
      expect(() => parse(JSON.stringify({ type, id: '1', payload: {} }))).toThrow(/may not send/);
    },
  );

  it.each(['connection_init', 'ping', 'pong', 'subscribe', 'complete'])('lets %s through', (type) => {
    expect(parse(JSON.stringify({ type, id: '1' }))).toEqual({ type, id: '1' });
  });

  it('looks only at the message itself, not at objects inside its payload', () => {
    const message = {
      type: 'subscribe',
      id: '1',
      payload: { query: '{ x }', variables: { '': { type: 'next' }, nested: { type: 'error' } } },
    };
    expect(parse(JSON.stringify(message))).toEqual(message);
  });

  it('leaves what is not an object to graphql-ws (which refuses it with 4400)', () => {
    expect(parse('[1]')).toEqual([1]);
    expect(parse('"next"')).toBe('next');
  });
});
