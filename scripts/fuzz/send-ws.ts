// Sends one WebSocket probe: opens a socket (graphql-transport-ws unless the probe says
// otherwise), sends its frames, then a graphql-ws `ping`. The probe is answered when the
// server replies `pong` (it is still serving the socket) and has answered every `subscribe`
// (a `next`, `error` or `complete` for its id), or when it closes the socket; nothing within
// the timeout counts as hung.
import WebSocket from 'ws';
import type { Outcome, WsProbe } from './probe.ts';

const PROTOCOL = 'graphql-transport-ws';
const MESSAGE_LIMIT = 64 * 1024;

export interface WsTarget {
  readonly url: string;
  readonly timeoutMs: number;
  readonly authorization?: string;
}

export function sendWs(probe: WsProbe, target: WsTarget): Promise<Outcome> {
  const started = performance.now();
  const frames = probe.frames.map((frame) => withToken(frame, target.authorization));
  const protocol = probe.protocol === undefined ? PROTOCOL : probe.protocol;
  return new Promise<Outcome>((resolve) => {
    const messages: string[] = [];
    const unanswered = new Set(subscribeIds(probe.frames));
    let ponged = false;
    let settled = false;
    let status: number | undefined;
    let refusal = '';
    const socket = new WebSocket(target.url, protocol === null ? [] : [protocol], {
      maxPayload: 8 * 1024 * 1024,
    });
    const finish = (extra: Partial<Outcome>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        status,
        body: refusal || messages.join('\n'),
        ms: Math.round(performance.now() - started),
        ...extra,
      });
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)
        socket.terminate();
    };
    const timer = setTimeout(
      () =>
        finish({
          hung: ponged
            ? `subscribe ${[...unanswered].join(', ')} not answered within ${target.timeoutMs} ms`
            : `no pong nor close within ${target.timeoutMs} ms`,
        }),
      target.timeoutMs,
    );
    socket.on('upgrade', () => (status = 101));
    socket.on('unexpected-response', (_req, response) => {
      status = response.statusCode;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (refusal += chunk));
      response.on('end', () => finish({}));
    });
    socket.on('open', () => {
      for (const frame of frames) socket.send(frame);
      socket.send(JSON.stringify({ type: 'ping' }));
    });
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length} bytes>` : data.toString();
      messages.push(text.slice(0, MESSAGE_LIMIT));
      if (isBinary) return;
      const parsed = parse(text);
      if (parsed?.type === 'pong') ponged = true;
      else if (typeof parsed?.id === 'string') unanswered.delete(parsed.id);
      if (ponged && unanswered.size === 0) finish({});
    });
    socket.on('close', (code, reason) => finish({ wsClose: { code, reason: reason.toString() } }));
    socket.on('error', (err) => {
      // The server declined the subprotocol offered: the client library gives up by itself.
      if (err.message === 'Server sent no subprotocol')
        finish({ body: 'the server selected no subprotocol' });
      else if (status === undefined) finish({ dropped: err.message });
    });
  });
}

function parse(text: string): { type?: unknown; id?: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as { type?: unknown; id?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** The ids of well-formed `subscribe` messages among the frames: each must get an answer. */
function subscribeIds(frames: readonly (string | Buffer)[]): string[] {
  return frames.flatMap((frame) => {
    const parsed =
      typeof frame === 'string'
        ? (parse(frame) as { type?: unknown; id?: unknown; payload?: unknown })
        : undefined;
    return parsed?.type === 'subscribe' &&
      typeof parsed.id === 'string' &&
      parsed.id &&
      typeof parsed.payload === 'object' &&
      parsed.payload !== null
      ? [parsed.id]
      : [];
  });
}

/** Puts the probe's token into `connection_init` frames that carry no payload of their own. */
function withToken(frame: string | Buffer, authorization: string | undefined): string | Buffer {
  if (!authorization || typeof frame !== 'string' || frame !== '{"type":"connection_init"}') return frame;
  return JSON.stringify({ type: 'connection_init', payload: { authorization } });
}
