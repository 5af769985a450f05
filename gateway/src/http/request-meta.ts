// What the gateway knows about a request before GraphQL sees it: its id, its W3C trace
// context and the client's address. Made once per HTTP request and looked up by the request.
import { randomFillSync, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { activeSpanContext } from '../../../shared/observability/tracing.ts';
import { addressGroup } from './address-group.ts';

export interface TraceContext {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** 2 hex digits (`01`: sampled). */
  readonly flags: string;
}

export interface RequestMeta {
  readonly requestId: string;
  readonly trace: TraceContext;
  readonly clientAddress: string;
  /** The client's address as the limits count it: IPv6 by its /56 (address-group.ts). */
  readonly limitedAs: string;
  readonly startedAt: number;
  /** Filled in as the request is understood, for the access log. */
  operationName?: string | null;
  userId?: string;
}

const metas = new WeakMap<IncomingMessage, RequestMeta>();

export function requestMeta(req: IncomingMessage, trustedProxyHops: number): RequestMeta {
  let meta = metas.get(req);
  if (!meta) {
    const address = clientAddress(req, trustedProxyHops);
    meta = {
      requestId: validRequestId(header(req, 'x-request-id')) ?? randomUUID(),
      // The request's server span when tracing is on (it continues the client's traceparent).
      trace: activeTrace() ?? parseTraceparent(header(req, 'traceparent')) ?? newTrace(),
      clientAddress: address,
      limitedAs: addressGroup(address),
      startedAt: performance.now(),
    };
    metas.set(req, meta);
  }
  return meta;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function validRequestId(value: string | undefined): string | undefined {
  return value && /^[\w.:-]{1,128}$/.test(value) ? value : undefined;
}

function activeTrace(): TraceContext | undefined {
  const span = activeSpanContext();
  return span && { traceId: span.traceId, flags: span.traceFlags.toString(16).padStart(2, '0') };
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C `traceparent` header, or undefined when it is missing or malformed. */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const match = value ? TRACEPARENT.exec(value.trim().toLowerCase()) : null;
  if (!match) return undefined;
  const [, version, traceId, parentId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, flags };
}

/** A trace of its own, sampled, for work no client's trace context came with. */
export function newTrace(): TraceContext {
  return { traceId: randomHex(16), flags: '01' };
}

/** The `traceparent` for a call the gateway makes: the same trace, a new span id. */
export function childTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${randomHex(8)}-${trace.flags}`;
}

/**
 * Random bytes for ids, drawn from a pool that one call to the CSPRNG fills for many of them (as
 * node's randomUUID does) instead of one call per id: every subgraph call takes a span id.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}

/** The client's address as the limits count it (address-group.ts). */
export function limitedAddress(req: IncomingMessage, hops: number): string {
  return addressGroup(clientAddress(req, hops));
}

/**
 * The client's address: the socket's peer, or, behind `hops` trusted proxies, the address the
 * outermost of them saw (X-Forwarded-For is appended to by each proxy, so read from the right).
 */
export function clientAddress(req: IncomingMessage, hops: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (hops === 0) return peer;
  const forwarded = (header(req, 'x-forwarded-for') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  return forwarded[forwarded.length - hops] ?? forwarded[0] ?? peer;
}
