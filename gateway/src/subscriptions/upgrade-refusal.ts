// The answer to a WebSocket upgrade the gateway will not take, written on the raw socket (no
// ServerResponse exists for an upgrade): the same JSON error body as every other refusal, so a
// client or a proxy's log reads one format, and the connection closed once it is written.
import type { Duplex } from 'node:stream';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { ErrorCode } from '../../../shared/errors.ts';
import { errorBody } from '../../../shared/http/responses.ts';

export function refuseUpgrade(
  socket: Duplex,
  status: number,
  code: ErrorCode,
  message: string,
  headers: readonly string[] = [],
): void {
  const body = errorBody(code, message);
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
      ...headers,
      'Connection: close',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}

/**
 * ws's answer to a handshake it cannot take (no or a bad Sec-WebSocket-Key or -Version, a method
 * other than GET, an unparsable subprotocol list), given through its `wsClientError` event so it
 * is coded like every other refusal; ws would write it in plain text. Its messages name only the
 * header at fault. The statuses and the version header are those ws itself sends.
 */
export function refuseMalformedHandshake(err: Error, socket: Duplex, req: IncomingMessage): void {
  if (req.method !== 'GET') {
    refuseUpgrade(socket, 405, ErrorCode.BAD_USER_INPUT, 'WebSocket upgrades use GET', ['Allow: GET']);
    return;
  }
  const versionHeader = /Sec-WebSocket-Version/i.test(err.message) ? ['Sec-WebSocket-Version: 13, 8'] : [];
  refuseUpgrade(
    socket,
    400,
    ErrorCode.BAD_USER_INPUT,
    `Bad WebSocket handshake: ${err.message}`,
    versionHeader,
  );
}
