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
//   the client does not read the answers to what it    close 1013 Try Again Later, before its next
//   sends (pongs, refusals) and they pile up           message is handled
//   the gateway stops                                  close 1001 Going Away
//   a message a client may not send (a server-only     close 4400 Bad Request, like any other
//   type such as `next` or `connection_ack`)           protocol violation
//   no connection_init in time                         close 4408 (connectionInitTimeoutMs)
//   an anonymous socket still open after               close 1008 Policy Violation: anonymous
//   anonymousIdleMs                                    sockets cannot subscribe, so one that
//                                                      lingers only holds a connection
//   a frame over the size limit, or not valid           closed by ws (1009, 1002, 1007), logged
//   WebSocket framing                                  at debug without a stack
//
// Upgrades refused before there is a socket get an HTTP answer with the JSON error body of every
// other refusal: 429 RATE_LIMITED when the client's address already holds
// maxConnectionsPerAddress sockets, 404 NOT_FOUND on another path, 503 SERVICE_UNAVAILABLE while
// the gateway stops; 400 (405 for a method other than GET) BAD_USER_INPUT for a malformed
// handshake, which ws finds and hands over (upgrade-refusal.ts).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, type Identity, type TokenVerifier } from '../../../shared/auth/identity.ts';
import { AppError } from '../../../shared/errors.ts';
import { ErrorCode } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { limitedAddress } from '../http/request-meta.ts';
import { AddressConnections } from './address-connections.ts';
import type { Sink } from './engine.ts';
import type { LiveStream } from './live-stream.ts';
import { RefusedSubscription } from './operation.ts';
import { chargeSubscriber, msUntilExpiry, openSubscription, type OpenOptions } from './open.ts';
import { refuseMalformedHandshake, refuseUpgrade } from './upgrade-refusal.ts';

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
  /** A socket that has not sent connection_init by then is closed (4408). */
  readonly connectionInitTimeoutMs: number;
  /** An anonymous socket is closed (1008) this long after it was acknowledged. */
  readonly anonymousIdleMs: number;
  /** Bytes waiting to be written to a socket past which it is closed as not reading (1013). */
  readonly maxBufferedBytes: number;
  /** Sockets one client address may hold open at once; past it upgrades get 429. */
  readonly maxConnectionsPerAddress: number;
}

export const CLOSE_POLICY_VIOLATION = 1008;

/** What a client may send (graphql-transport-ws); the other types are the server's. */
const CLIENT_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'connection_init',
  'ping',
  'pong',
  'subscribe',
  'complete',
]);

/**
 * A JSON reviver that refuses a server-only message type. graphql-ws throws a plain Error for
 * an unexpected type, which its ws adapter turns into 4500 Internal Error; a failure to parse
 * is its 4400 Bad Request. The root value is revived with the key "" on a holder of that one
 * key. A nested object whose only key is "" looks the same: a message carrying one with a
 * server-only `type` inside is refused too, which costs nothing (no GraphQL name is empty).
 */
export function refuseServerMessages(this: unknown, key: string, value: unknown): unknown {
  if (key === '' && isRootHolder(this) && value && typeof value === 'object' && !Array.isArray(value)) {
    const type = (value as { type?: unknown }).type;
    if (typeof type === 'string' && !CLIENT_MESSAGE_TYPES.has(type)) {
      throw new Error(`a client may not send "${type}"`);
    }
  }
  return value;
}

function isRootHolder(holder: unknown): boolean {
  return (
    typeof holder === 'object' &&
    holder !== null &&
    Object.getPrototypeOf(holder) === Object.prototype &&
    Object.keys(holder).length === 1 &&
    '' in holder
  );
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
  const perAddress = new AddressConnections(options.maxConnectionsPerAddress);
  let closing = false;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const release = admitUpgrade(req, socket, closing, perAddress, options);
    if (!release) return;
    // The raw socket closes however the upgrade ends (refused by ws, or a WebSocket that closed).
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  httpServer.on('upgrade', onUpgrade);
  wss.on('wsClientError', refuseMalformedHandshake);
  // Added before graphql-ws's own listener, so it runs first for every message.
  wss.on('connection', (ws: WebSocket) => refuseWhileUnread(ws, options.maxBufferedBytes));

  useServer<Record<string, unknown> | undefined, ConnectionState>(
    {
      isProd: options.production,
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      jsonMessageReviver: refuseServerMessages,
      onConnect: async (ctx) => {
        const identity = await authenticate(ctx.extra.socket, ctx.connectionParams, options);
        if (identity === false) return false;
        ctx.extra.identity = identity;
        return true;
      },
      onSubscribe: async (ctx, _id, payload: SubscribePayload) => {
        const { socket, request } = ctx.extra;
        try {
          const identity = ctx.extra.identity ?? null;
          await chargeSubscriber(options, identity, () => limitedAddress(request, options.trustedProxyHops));
          const { stream, document } = await openSubscription(options, payload, identity, socketSink(socket));
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
  // Added after graphql-ws's listener, so it can take the place of graphql-ws's error handler.
  wss.on('connection', (ws: WebSocket) => logSocketErrorsQuietly(ws, options.logger));

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

/**
 * The release of the upgrade's place under its address's cap; or undefined once the upgrade has
 * been answered with a refusal (the gateway stopping, a path without WebSockets, the cap full).
 */
function admitUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  closing: boolean,
  perAddress: AddressConnections,
  options: WebSocketOptions,
): (() => void) | undefined {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (closing) {
    refuseUpgrade(socket, 503, ErrorCode.SERVICE_UNAVAILABLE, 'The gateway is stopping; connect again');
    return undefined;
  }
  if (!options.paths.includes(path)) {
    refuseUpgrade(socket, 404, ErrorCode.NOT_FOUND, `WebSockets are served at ${options.paths[0]} only`);
    return undefined;
  }
  const release = perAddress.take(limitedAddress(req, options.trustedProxyHops));
  if (!release) {
    const message = `Too many connections: at most ${perAddress.max} from one address; close one first`;
    refuseUpgrade(socket, 429, ErrorCode.RATE_LIMITED, message);
  }
  return release;
}

/**
 * Verifies connection_init's token: the identity (null when there is none), or false when the
 * socket has been closed (4401 for a bad token). Bounds how long the socket may stay open.
 */
async function authenticate(
  socket: WebSocket,
  params: Readonly<Record<string, unknown>> | undefined,
  options: WebSocketOptions,
): Promise<Identity | null | false> {
  const raw = params?.authorization ?? params?.Authorization;
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
  closeWhenDue(socket, identity, options.anonymousIdleMs);
  return identity;
}

/** Closes a signed-in socket when its token expires, an anonymous one after `anonymousIdleMs`. */
function closeWhenDue(socket: WebSocket, identity: Identity | null, anonymousIdleMs: number): void {
  const timer = identity
    ? setTimeout(
        () => socket.close(CloseCode.Unauthorized, 'Unauthorized: the token has expired'),
        msUntilExpiry(identity),
      )
    : // Anonymous subscriptions are refused, so an anonymous socket never has one: bound how
      // long it may hold a connection (graphql-ws alone would keep it forever).
      setTimeout(
        () => socket.close(CLOSE_POLICY_VIOLATION, 'Sign in to subscribe; anonymous sockets are closed'),
        anonymousIdleMs,
      );
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * graphql-ws answers every client `ping` with a `pong` echoing its payload, and every refused
 * subscribe with an `error` naming its id, and queues them however much a client leaves unread:
 * a client that sends and never reads grew the gateway's memory until the process died. Before
 * a message is handled, a socket with more than `maxBufferedBytes` unwritten is closed as too
 * slow; once closing, graphql-ws sends it nothing more.
 */
function refuseWhileUnread(socket: WebSocket, maxBufferedBytes: number): void {
  socket.on('message', () => {
    if (socket.readyState === socket.OPEN && socket.bufferedAmount > maxBufferedBytes) {
      socket.close(CLOSE_TRY_AGAIN_LATER, 'Try again later: replies were not read');
    }
  });
}

/**
 * A socket's 'error' is always the client's doing or the network's (a frame over maxPayload,
 * bad framing, invalid UTF-8, a reset), and ws closes the socket itself with the fitting code.
 * graphql-ws's handler for it writes a stack trace with console.error, outside the structured
 * log, for every such frame: any client could fill the log at will. Replaced by one debug line.
 */
function logSocketErrorsQuietly(socket: WebSocket, logger: Logger): void {
  socket.removeAllListeners('error');
  socket.on('error', (err: Error & { code?: string }) => {
    logger.debug({ code: err.code, reason: err.message }, 'WebSocket closed on a client error');
  });
}

function socketSink(socket: WebSocket): Sink {
  return {
    transport: 'ws',
    connection: socket,
    bufferedBytes: () => socket.bufferedAmount,
    close: (reason) => {
      if (reason === 'slow') socket.close(CLOSE_TRY_AGAIN_LATER, 'Try again later: events were not read');
      else socket.close(CLOSE_GOING_AWAY, 'Going away');
    },
  };
}
