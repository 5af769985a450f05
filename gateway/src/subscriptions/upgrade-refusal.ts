// The answer to a WebSocket upgrade the gateway will not take, written on the raw socket (no
// ServerResponse exists for an upgrade): the same JSON error body as every other refusal, so a
// client or a proxy's log reads one format, and the connection closed once it is written.
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { ErrorCode } from '../../../shared/errors.ts';
import { errorBody } from '../../../shared/http/responses.ts';

export function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = errorBody(code, message);
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
      'Connection: close',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}
