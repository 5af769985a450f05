// Whether an error says the database cannot be reached (rather than that a statement failed):
// what a client should retry later and a consumer should wait out, not count as a failure.
//
// `pg` has no error classes for the connection itself: refusals and resets come as Node system
// errors (`code` ECONNREFUSED ...), a server going away as SQLSTATE classes 08 and 57P0x, and a
// connection that died or never came within `connectionTimeoutMillis` as a plain Error whose
// message is the only mark. So the messages pg and pg-pool use for that are matched here, in
// this one place, and nowhere else. MikroORM wraps driver errors in DriverException subclasses
// that copy `code` over and keep the original as `cause`, so the whole cause chain is read.
import { ConnectionException } from '@mikro-orm/core';

/** Node's codes for a connection refused, reset, cut or not routable. */
const SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is not there for us: connection exceptions (class 08), shutting
 * down (57P01 admin, 57P02 crash), starting up (57P03), too many connections (53300).
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** What pg and pg-pool say when a connection died, never came, or cannot be used. */
const PG_MESSAGES = [
  /^Connection terminated/, // unexpectedly; due to connection timeout
  /^timeout exceeded when trying to connect$/, // pg-pool: connectionTimeoutMillis
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  /^Cannot use a pool after calling end on the pool$/,
];

/** True when `err`, or an error it was caused by, says the database cannot be reached. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  // Read structurally, not with `instanceof Error`: errors made by Node's own modules come from
  // another realm inside a VM sandbox (Jest), and would not count as errors there.
  for (let current = err; isObject(current) && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (saysUnavailable(current)) return true;
  }
  return false;
}

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

const isObject = (value: unknown): value is ErrorLike => typeof value === 'object' && value !== null;

function saysUnavailable(error: ErrorLike): boolean {
  if (error instanceof ConnectionException) return true;
  const { code, message, errors } = error;
  if (typeof code === 'string' && (SYSTEM_CODES.has(code) || SQLSTATES.has(code) || code.startsWith('08')))
    return true;
  // MikroORM appends details to the driver's message; the driver's own words come first.
  if (typeof message === 'string' && PG_MESSAGES.some((pattern) => pattern.test(message))) return true;
  // Connecting to a name with several addresses fails with one error per address.
  return Array.isArray(errors) && errors.some(isDatabaseUnavailable);
}
