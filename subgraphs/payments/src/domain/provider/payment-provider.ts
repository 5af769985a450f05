// The boundary to whoever moves the money. The domain (../payments.ts) depends only on this
// interface; `SimulatedPaymentProvider` implements it for development and tests, and a real
// provider (Stripe, Adyen, ...) would be another implementation of the same four calls.
//
// Contract for implementations:
//  - Every call carries an idempotency key (the order id): repeating a call with the same key
//    must not move money twice. The domain also never repeats a call it has recorded.
//  - A card or method the provider refuses is an answer, not an error: `authorize` resolves to
//    `{ approved: false, reason }`.
//  - A failure that may pass (network, timeout, 5xx, rate limit) is `ProviderUnavailableError`:
//    the message handler lets it propagate, its transaction rolls back, and the consumer
//    redelivers the command later with backoff.
//  - Anything else thrown is permanent for that command.

export interface Amount {
  readonly amountCents: number;
  /** ISO-4217, e.g. "USD". */
  readonly currency: string;
}

export interface AuthorizeRequest extends Amount {
  readonly idempotencyKey: string;
  readonly paymentMethod: string;
}

export type AuthorizeResult =
  | { readonly approved: true; readonly reference: string }
  | { readonly approved: false; readonly reason: string };

export interface ReferenceRequest extends Amount {
  readonly idempotencyKey: string;
  /** The `reference` an approved `authorize` returned. */
  readonly reference: string;
}

export interface PaymentProvider {
  readonly name: string;
  /** Holds the amount on the payment method, or refuses. */
  authorize(request: AuthorizeRequest): Promise<AuthorizeResult>;
  /** Takes the held amount. */
  capture(request: ReferenceRequest): Promise<void>;
  /** Releases the hold; nothing is taken. */
  void(request: ReferenceRequest): Promise<void>;
  /** Returns captured money. */
  refund(request: ReferenceRequest): Promise<void>;
}

/** The provider could not be reached or answered "try again": retry the command later. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
  /** Marks errors a consumer should retry with backoff rather than dead-letter. */
  readonly transient = true;
}

/** True for errors worth retrying (a consumer's retry-or-dead-letter decision). */
export function isTransientProviderError(error: unknown): error is ProviderUnavailableError {
  return error instanceof ProviderUnavailableError;
}
