// graphql-ws (protocol `graphql-transport-ws`) on the gateway's own HTTP server, on the same
// paths as queries (`/graphql`, and `/` where Sandbox sends everything).
//
// Close codes and errors, as a graphql-ws client sees them:
//   connection_init with an invalid or expired token   close 4401 Unauthorized (fatal for the client)
//   connection_init without a token                    accepted; each subscribe then gets an
//                                                      `error` message with code UNAUTHENTICATED
//   subscribe refused (NOT_FOUND for a missing order or someone else's alike, BAD_USER_INPUT,
//   RATE_LIMITED, QUERY_TOO_COMPLEX)                   an `error` message, with extensions.code
//   the token expires while connected                  close 4401 "Unauthorized: the token has
//                                                      expired" (every subscription on the socket
//                                                      used it; reconnect with a fresh token)
//   the client does not read its events                close 1013 Try Again Later (the client
//                                                      reconnects and gets the current state first)
//   the gateway stops                                  close 1001 Going Away
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, type Identity, type TokenVerifier } from '../../../shared/auth/identity.ts';
import { AppError } from '../../../shared/errors.ts';
import { clientAddress } from '../http/request-meta.ts';
import type { Sink } from './engine.ts';
import type { LiveStream } from './live-stream.ts';
import { RefusedSubscription } from './operation.ts';
import { msUntilExpiry, openSubscription, type OpenOptions } from './open.ts';

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN_LATER = 1013;

export interface WebSocketOptions extends OpenOptions {
  readonly verifyToken: TokenVerifier;
  readonly paths: readonly string[];
  readonly trustedProxyHops: number;
  /** Ping interval; a client that does not answer within it is dropped. */
  readonly keepAliveMs: number;
  /** The largest message a client may send. */
  readonly maxPayloadBytes: number;
  readonly production: boolean;
}

export interface WebSocketEndpoint {
  readonly clients: () => number;
  /** Refuses new upgrades, closes every socket with 1001, waits (bounded) for them to go. */
  close(graceMs?: number): Promise<void>;
}

interface ConnectionState extends Record<PropertyKey, unknown> {
  identity: Identity | null;
}

export function attachWebSocket(httpServer: Server, options: WebSocketOptions): WebSocketEndpoint {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: options.maxPayloadBytes,
  });
  let closing = false;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (closing || !options.paths.includes(path)) {
      socket.end(
        `HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  httpServer.on('upgrade', onUpgrade);

  useServer<Record<string, unknown> | undefined, ConnectionState>(
    {
      isProd: options.production,
      connectionInitWaitTimeout: 5_000,
      onConnect: async (ctx) => {
        const { socket } = ctx.extra;
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        let identity: Identity | null;
        try {
          const token = bearerToken(typeof raw === 'string' ? raw : undefined);
          identity = token ? await options.verifyToken(token) : null;
        } catch (err) {
          if (err instanceof AppError) {
            socket.close(CloseCode.Unauthorized, `Unauthorized: ${err.message}`);
          } else {
            options.logger.error({ err }, 'verifying a WebSocket token failed');
            socket.close(CloseCode.InternalServerError, 'Internal server error');
          }
          return false;
        }
        ctx.extra.identity = identity;
        if (identity) {
          const expiry = setTimeout(
            () => socket.close(CloseCode.Unauthorized, 'Unauthorized: the token has expired'),
            msUntilExpiry(identity),
          );
          expiry.unref();
          socket.once('close', () => clearTimeout(expiry));
        }
        return true;
      },
      onSubscribe: async (ctx, _id, payload: SubscribePayload) => {
        const { socket, request } = ctx.extra;
        try {
          const { stream, document } = await openSubscription(
            options,
            payload,
            ctx.extra.identity ?? null,
            clientAddress(request, options.trustedProxyHops),
            socketSink(socket),
          );
          return {
            schema: options.schema()!,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: { stream },
          };
        } catch (err) {
          if (err instanceof RefusedSubscription) return err.errors;
          throw err;
        }
      },
      // The stream was made in onSubscribe; graphql-ws only iterates it.
      subscribe: (args) => (args.contextValue as { stream: LiveStream }).stream as never,
      // Results carry errors already formatted by the gateway: send them as they are.
      onNext: (_ctx, _id, _payload, _args, result) => result as never,
    },
    wss,
    options.keepAliveMs,
  );

  return {
    clients: () => wss.clients.size,
    close: async (graceMs = 3_000) => {
      closing = true;
      httpServer.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(CLOSE_GOING_AWAY, 'Going away');
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      const timer = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

function socketSink(socket: WebSocket): Sink {
  return {
    transport: 'ws',
    bufferedBytes: () => socket.bufferedAmount,
    close: (reason) => {
      if (reason === 'slow') socket.close(CLOSE_TRY_AGAIN_LATER, 'Try again later: events were not read');
      else socket.close(CLOSE_GOING_AWAY, 'Going away');
    },
  };
}
