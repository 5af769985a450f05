// Reading a request body with a size limit, for every endpoint that takes one (/graphql and
// /graphql/stream). An oversize body is refused from its Content-Length before a byte is read,
// or as soon as the bytes received pass the limit; what is received after that is discarded,
// never kept. The answer then closes the connection: the rest of the body is still on the way,
// and reading it to find the next keep-alive request would mean taking all of it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.ts';
import { sendErrors } from './responses.ts';

/** The largest request body any endpoint accepts. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const TOO_LARGE = Symbol('too large');

/** The body as UTF-8, or TOO_LARGE (nothing of it kept). Rejects if the request is aborted. */
export function readLimitedBody(
  req: IncomingMessage,
  maxBytes: number = MAX_BODY_BYTES,
): Promise<string | typeof TOO_LARGE> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      done();
      chunks.length = 0;
      // Still flowing, with no listener: what keeps arriving is dropped until the connection
      // closes after the 413.
      resolve(TOO_LARGE);
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      done();
      reject(new Error('the request was aborted before its body was read'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** 413 with a coded GraphQL error, and the connection closed once it is sent (see above). */
export function sendBodyTooLarge(res: ServerResponse, maxBytes: number = MAX_BODY_BYTES): void {
  sendErrors(res, 413, ErrorCode.BAD_USER_INPUT, `The request body is larger than ${maxBytes} bytes`, {
    connection: 'close',
  });
}
