// Reading a request body with a size limit, for every endpoint that takes one (/graphql and
// /graphql/stream). An oversize body is refused from its Content-Length before a byte is read,
// or as soon as the bytes received pass the limit; what is received after that is discarded,
// never kept.
//
// The 413 is answered at once, while the client is still sending. Closing the connection right
// away would cut the client off mid-send (EPIPE or a reset before it reads the answer), and
// leaving the rest of the body unread would stall the next keep-alive request behind it. So the
// rest is read and dropped ("lingering close", as nginx and Apache do), up to a bound in bytes
// and time; past either the connection is cut, which only a client sending far more than the
// limit sees.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.ts';
import { errorBody, sendErrors } from './responses.ts';

/** The largest request body any endpoint accepts. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const TOO_LARGE = Symbol('too large');

/** Whether the request's Content-Length announces a body over `maxBytes`. */
export function declaresTooLarge(req: IncomingMessage, maxBytes: number = MAX_BODY_BYTES): boolean {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > maxBytes;
}

/**
 * The body as UTF-8, or TOO_LARGE (nothing of it kept). Rejects if the request is aborted, also
 * when that happened before it was called (a body read only once the headers were judged).
 */
export function readLimitedBody(
  req: IncomingMessage,
  maxBytes: number = MAX_BODY_BYTES,
): Promise<string | typeof TOO_LARGE> {
  if (declaresTooLarge(req, maxBytes)) return Promise.resolve(TOO_LARGE);
  if (req.destroyed) return Promise.reject(new Error('the request was aborted before its body was read'));
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

/** Bytes of a refused body read and dropped after the 413, before the connection is cut. */
export const LINGER_MAX_BYTES = 16 * MAX_BODY_BYTES;
/** How long the rest of a refused body may take to arrive before the connection is cut. */
export const LINGER_MAX_MS = 5_000;

/** 413 with a coded GraphQL error; the rest of the body is drained, bounded (see above). */
export function sendBodyTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number = MAX_BODY_BYTES,
): void {
  refuseUnread(req, res, 413, ErrorCode.BAD_USER_INPUT, `The request body is larger than ${maxBytes} bytes`);
}

/**
 * Answers a request refused before its body was read (too large, or from a caller that may not
 * send one) with a coded error, draining the body as above so the client reads the answer.
 */
export function refuseUnread(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  if (req.complete) {
    sendErrors(res, status, code, message, headers);
    return;
  }
  answerUnread(
    req,
    res,
    status,
    { ...headers, 'content-type': 'application/json; charset=utf-8' },
    errorBody(code, message),
  );
}

/**
 * Answers `body` to a request whose body has not been read (nor wholly received), draining the
 * body as above so the client reads the answer.
 *
 * The whole answer is written at once, but the response is ended only when the body has been
 * drained (or the bound is hit): Node closes a `Connection: close` socket as soon as its
 * response ends, which would cut off a client still sending.
 */
export function answerUnread(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string,
): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.write(body);
  let drained = 0;
  const done = (cut: boolean) => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onDrained);
    req.off('close', onDrained);
    // Cut: the rest of the body is still coming, so this connection can carry no next request.
    res.end(cut ? () => req.socket.destroy() : undefined);
  };
  const onDrained = () => done(false);
  const timer = setTimeout(() => done(true), LINGER_MAX_MS);
  timer.unref();
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_MAX_BYTES) done(true);
  };
  req.on('data', onData);
  req.once('end', onDrained);
  req.once('close', onDrained);
  req.resume();
}
