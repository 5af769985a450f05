import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { TOO_LARGE, readLimitedBody } from './body.ts';

/** A request body as a stream with headers: what readLimitedBody reads of an IncomingMessage. */
function incoming(headers: Record<string, string> = {}): PassThrough & { headers: Record<string, string> } {
  return Object.assign(new PassThrough(), { headers });
}

describe('readLimitedBody', () => {
  it('reads a body within the limit', async () => {
    const req = incoming();
    const body = readLimitedBody(req as unknown as IncomingMessage, 10);
    req.end('{"a":1}');
    await expect(body).resolves.toBe('{"a":1}');
  });

  it('refuses an announced oversize body without reading a byte', async () => {
    const req = incoming({ 'content-length': String(1024 ** 3) });
    await expect(readLimitedBody(req as unknown as IncomingMessage, 10)).resolves.toBe(TOO_LARGE);
    expect(req.readableFlowing).toBeNull();
  });

  it('refuses a body as soon as it passes the limit, and drops what follows', async () => {
    const req = incoming();
    const body = readLimitedBody(req as unknown as IncomingMessage, 10);
    req.write('12345');
    req.write('678901');
    await expect(body).resolves.toBe(TOO_LARGE);
    // Still flowing with no reader: more data is discarded, not buffered.
    req.write(Buffer.alloc(1024 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    expect(req.readableLength).toBe(0);
    expect(req.listenerCount('data')).toBe(0);
  });

  it('rejects when the request ends before its body', async () => {
    const req = incoming();
    const body = readLimitedBody(req as unknown as IncomingMessage, 10);
    req.destroy();
    await expect(body).rejects.toThrow(/aborted/);
  });

  it('rejects at once when the request was aborted before it was asked to read', async () => {
    // As when a client leaves while its headers are being judged (its token, its rate limit).
    const req = incoming();
    req.destroy();
    await new Promise((resolve) => req.once('close', resolve));
    await expect(readLimitedBody(req as unknown as IncomingMessage, 10)).rejects.toThrow(/aborted/);
  });
});
