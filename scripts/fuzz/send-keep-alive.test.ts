import { describe, expect, it } from '@jest/globals';
import { parseResponse } from './send-keep-alive.ts';

describe('parseResponse', () => {
  it('reads a response with a length, and says where the next begins', () => {
    const data = Buffer.from('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1 200 OK');
    expect(parseResponse(data)).toEqual({ status: 413, body: '{}', end: 55 });
    expect(parseResponse(data.subarray(0, 50))).toBeUndefined();
  });

  it('reads a chunked response after a 100 Continue', () => {
    const data = Buffer.from(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    );
    expect(parseResponse(data)).toMatchObject({ status: 200, body: '{}', end: data.length });
  });
});
