// What both transports do when a client subscribes: spend its rate limit (chargeSubscriber),
// check and rewrite the operation, then start it in the engine (openSubscription). Every
// refusal is a RefusedSubscription carrying GraphQL errors with `extensions.code`; anything
// unexpected is logged and masked.
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Identity } from '../../../shared/auth/identity.ts';
import { ErrorCode } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { RateLimiter } from '../limits/rate-limit.ts';
import type { CompiledSubscriptions } from './compiled-cache.ts';
import type { Sink, SubscriptionEngine } from './engine.ts';
import type { LiveStream } from './live-stream.ts';
import type { SubscriptionQuota } from './quota.ts';
import { RefusedSubscription, requestError, type SubscriptionRequest } from './operation.ts';

export interface OpenOptions {
  readonly engine: SubscriptionEngine;
  /** The supergraph's API schema, once the gateway has loaded it. */
  readonly schema: () => GraphQLSchema | undefined;
  readonly rateLimiter: RateLimiter;
  /** Subscriptions checked and rewritten with the gateway's query limits, cached per text. */
  readonly compiled: CompiledSubscriptions;
  readonly logger: Logger;
  /** Live subscriptions per user and per connection. */
  readonly quota: SubscriptionQuota;
}

export async function openSubscription(
  options: OpenOptions,
  request: SubscriptionRequest,
  identity: Identity | null,
  sink: Sink,
): Promise<{ stream: LiveStream; document: DocumentNode }> {
  try {
    const schema = options.schema();
    if (!schema) throw new Error('the supergraph schema is not loaded');
    const prepared = options.compiled.prepare(schema, request);
    const release = identity ? takeSlot(options.quota, identity.userId, sink.connection) : undefined;
    try {
      const { stream, shared } = await options.engine.open(prepared, identity, sink);
      if (release) stream.onClosed(release);
      return { stream, document: shared.document };
    } catch (err) {
      release?.();
      throw err;
    }
  } catch (err) {
    throw masked(err, options.logger);
  }
}

/**
 * Spends a token of the subscriber's rate limit: its user's, or its address's when anonymous. A
 * RefusedSubscription (RATE_LIMITED) when none is left. Each transport spends it where a refusal
 * costs least: graphql-ws per subscribe message, SSE before the request's body is read.
 */
export async function chargeSubscriber(
  options: Pick<OpenOptions, 'rateLimiter' | 'logger'>,
  identity: Identity | null,
  /**
   * The client's address, asked only of an anonymous client (limited by address; a signed-in
   * one is limited as its user): the first read of a socket's peer is a system call, once per
   * connection, and most connections carry one subscription.
   */
  clientAddress: () => string,
): Promise<void> {
  try {
    await options.rateLimiter.check(identity ? `user:${identity.userId}` : `ip:${clientAddress()}`);
  } catch (err) {
    if (err instanceof GraphQLError && err.extensions.code === ErrorCode.RATE_LIMITED) {
      throw new RefusedSubscription([
        new GraphQLError(err.message, {
          extensions: { code: ErrorCode.RATE_LIMITED, retryAfterSeconds: err.extensions.retryAfterSeconds },
        }),
      ]);
    }
    throw masked(err, options.logger);
  }
}

/** A refusal as it is; anything unexpected logged, and masked for the client. */
function masked(err: unknown, logger: Logger): RefusedSubscription {
  if (err instanceof RefusedSubscription) return err;
  logger.error({ err }, 'a subscription failed to start');
  return new RefusedSubscription([requestError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')]);
}

/**
 * A slot under the per-user and per-connection caps, or a refusal. RATE_LIMITED rather than
 * FORBIDDEN: the client did nothing it may not do, it asked for too much at once, and the same
 * request succeeds once it closes another subscription (there is no Retry-After: that depends
 * on the client, not on time).
 */
function takeSlot(quota: SubscriptionQuota, userId: string, connection: object): () => void {
  const slot = quota.acquire(userId, connection);
  if ('release' in slot) return slot.release;
  const message =
    slot.refused === 'user'
      ? `Too many live subscriptions: at most ${quota.limits.maxPerUser} per user; close one first`
      : `Too many live subscriptions: at most ${quota.limits.maxPerConnection} per connection; close one first`;
  throw new RefusedSubscription([requestError(ErrorCode.RATE_LIMITED, message)]);
}

/** The moment a token stops being valid, as a delay from now (setTimeout's range). */
export function msUntilExpiry(identity: Identity): number {
  return Math.min(Math.max(identity.expiresAt * 1000 - Date.now(), 0), 2 ** 31 - 1);
}
