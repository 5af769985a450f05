// What the fuzz run sends and what it gets back. A probe is plain data (so it can be printed
// and replayed); the senders in send-http.ts and send-ws.ts carry it out.
import type { GraphQLSchema } from 'graphql';
import type { SubgraphName } from '../lib/services.ts';

/** Which signed-in identity a probe uses; resolved to a token when it is sent. */
export type Auth = 'anonymous' | 'customer' | 'admin' | 'garbage';

export type Target = 'gateway' | SubgraphName;

/** A body generated while it is sent (never held in memory): `size` bytes of `fill` repeated. */
export interface StreamedBody {
  readonly size: number;
  readonly prefix: string;
  readonly fill: string;
}

export interface HttpProbe {
  readonly transport: 'http';
  /** The generator that made it, e.g. `document/aliases` or `http/bad-json`. */
  readonly family: string;
  readonly target: Target;
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: Auth;
  readonly body?: string | Buffer | StreamedBody;
  /** SSE: read the answer as an event stream (up to its first result or its end). */
  readonly stream?: boolean;
  /** Afterwards, ask `{ __typename }` on the same keep-alive connection (it must be answered). */
  readonly followUp?: boolean;
}

export interface WsProbe {
  readonly transport: 'ws';
  readonly family: string;
  readonly auth: Auth;
  /** The WebSocket subprotocol offered (default graphql-transport-ws; null: none). */
  readonly protocol?: string | null;
  /** Frames sent in order once the socket is open: text, or binary. */
  readonly frames: readonly (string | Buffer)[];
}

export type Probe = HttpProbe | WsProbe;

export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

export interface Outcome {
  /** HTTP status (for WebSockets: 101 once upgraded, or the refusal's status). */
  readonly status?: number;
  readonly contentType?: string;
  /** The body read (truncated), or for WebSockets the messages received, one per line. */
  readonly body: string;
  readonly events?: readonly SseEvent[];
  readonly wsClose?: { readonly code: number; readonly reason: string };
  /** Set when nothing (or not the whole answer) came within the timeout. */
  readonly hung?: string;
  /** A connection error before any answer (reset, refused...). */
  readonly dropped?: string;
  /** The client library refused to send the probe (not the server's doing; not a violation). */
  readonly unsent?: string;
  /** The keep-alive follow-up's outcome, if the probe asked for one. */
  readonly followUp?: Outcome;
  readonly ms: number;
}

/** What a generator may use: the schema and real ids seeded into the system. */
export interface World {
  readonly schema: GraphQLSchema;
  readonly productIds: readonly string[];
  readonly orderIds: readonly string[];
  readonly userIds: readonly string[];
  readonly subgraphs: readonly SubgraphName[];
}

/** A short human-readable form of a probe for reports (bodies cut). */
export function describeProbe(probe: Probe, max = 300): string {
  // Head and tail: what goes wrong is often at the end (operationName, extensions).
  const tail = Math.floor(max / 4);
  const cut = (text: string) =>
    text.length > max ? `${text.slice(0, max - tail)}…${text.slice(-tail)} (${text.length} chars)` : text;
  if (probe.transport === 'ws') {
    return cut(
      `WS ${probe.protocol === undefined ? '' : `protocol=${probe.protocol} `}auth=${probe.auth} frames=${JSON.stringify(
        probe.frames.map((f) => (typeof f === 'string' ? cut(f) : `<binary ${f.length} bytes>`)),
      )}`,
    );
  }
  const body =
    probe.body === undefined
      ? ''
      : typeof probe.body === 'string'
        ? ` body=${JSON.stringify(cut(probe.body))}`
        : Buffer.isBuffer(probe.body)
          ? ` body=<${probe.body.length} bytes: ${JSON.stringify(cut(probe.body.toString('latin1')))}>`
          : ` body=<streamed ${probe.body.size} bytes>`;
  const headers = Object.entries(probe.headers)
    .map(([k, v]) => `${k}: ${cut(v)}`)
    .join('; ');
  return `${probe.method} ${probe.target}${cut(probe.path)} auth=${probe.auth} [${headers}]${body}${probe.followUp ? ' +keep-alive follow-up' : ''}`;
}
