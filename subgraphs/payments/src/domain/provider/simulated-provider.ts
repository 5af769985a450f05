// A payment provider that lives in memory, for development and tests. The payment method
// token decides what happens (Stripe-like names):
//
//   pm_card_visa            approves
//   pm_card_chargeDeclined  declines with reason PAYMENT_DECLINED
//   pm_card_flaky           fails with ProviderUnavailableError on the first `flakyFailures`
//                           (default 2) authorize attempts of each order, then approves:
//                           exercises the consumers' retries with backoff
//   pm_card_unavailable     always fails with ProviderUnavailableError: exercises retries
//                           running out (dead letter, the order cancelled)
//   anything else           declines with reason UNKNOWN_PAYMENT_METHOD
//
// The flaky count is kept per order id in this process (bounded): with several payments
// instances each one fails its first attempts, which only adds retries. References are derived
// from the idempotency key, so repeating a call gives the same answer, as a real provider's
// idempotency keys would.
import {
  ProviderUnavailableError,
  type AuthorizeRequest,
  type AuthorizeResult,
  type PaymentProvider,
  type ReferenceRequest,
} from './payment-provider.ts';

export const TEST_CARDS = {
  visa: 'pm_card_visa',
  declined: 'pm_card_chargeDeclined',
  flaky: 'pm_card_flaky',
  unavailable: 'pm_card_unavailable',
} as const;

export const DECLINE_REASONS = {
  declined: 'PAYMENT_DECLINED',
  unknownMethod: 'UNKNOWN_PAYMENT_METHOD',
} as const;

export interface SimulatedProviderOptions {
  /** Failed authorize attempts per order before `pm_card_flaky` approves. Default 2. */
  readonly flakyFailures?: number;
  /** Delay of every call, to imitate a network round trip. Default 0. */
  readonly latencyMs?: number;
  /** Orders whose flaky attempts are remembered; the oldest are forgotten beyond it. */
  readonly maxTrackedOrders?: number;
}

type Operation = 'authorize' | 'capture' | 'void' | 'refund';

export class SimulatedPaymentProvider implements PaymentProvider {
  readonly name = 'simulated';
  readonly #flakyFailures: number;
  readonly #latencyMs: number;
  readonly #maxTrackedOrders: number;
  /** Failed flaky attempts so far, per idempotency key (insertion order = age). */
  readonly #flakyAttempts = new Map<string, number>();
  /** Every call made, in order (for tests and debugging). */
  readonly calls: { readonly operation: Operation; readonly idempotencyKey: string }[] = [];

  constructor(options: SimulatedProviderOptions = {}) {
    this.#flakyFailures = options.flakyFailures ?? 2;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#maxTrackedOrders = options.maxTrackedOrders ?? 10_000;
    if (!Number.isInteger(this.#flakyFailures) || this.#flakyFailures < 0) {
      throw new RangeError('flakyFailures must be a whole number >= 0');
    }
  }

  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    await this.#call('authorize', request.idempotencyKey);
    checkAmount(request);
    switch (request.paymentMethod) {
      case TEST_CARDS.visa:
        return approved(request.idempotencyKey);
      case TEST_CARDS.declined:
        return { approved: false, reason: DECLINE_REASONS.declined };
      case TEST_CARDS.flaky: {
        const failed = this.#flakyAttempts.get(request.idempotencyKey) ?? 0;
        if (failed < this.#flakyFailures) {
          this.#remember(request.idempotencyKey, failed + 1);
          throw new ProviderUnavailableError(
            `simulated provider unavailable (attempt ${failed + 1} of ${this.#flakyFailures} that fail)`,
          );
        }
        // The count stays: the same order keeps being approved (until it is forgotten).
        return approved(request.idempotencyKey);
      }
      case TEST_CARDS.unavailable:
        throw new ProviderUnavailableError('simulated provider unavailable');
      default:
        return { approved: false, reason: DECLINE_REASONS.unknownMethod };
    }
  }

  async capture(request: ReferenceRequest): Promise<void> {
    await this.#call('capture', request.idempotencyKey);
    checkReference(request);
  }

  async void(request: ReferenceRequest): Promise<void> {
    await this.#call('void', request.idempotencyKey);
    checkReference(request);
  }

  async refund(request: ReferenceRequest): Promise<void> {
    await this.#call('refund', request.idempotencyKey);
    checkReference(request);
  }

  async #call(operation: Operation, idempotencyKey: string): Promise<void> {
    this.calls.push({ operation, idempotencyKey });
    if (this.#latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#latencyMs));
  }

  #remember(key: string, attempts: number): void {
    this.#flakyAttempts.delete(key);
    this.#flakyAttempts.set(key, attempts);
    while (this.#flakyAttempts.size > this.#maxTrackedOrders) {
      const oldest = this.#flakyAttempts.keys().next().value;
      if (oldest === undefined) break;
      this.#flakyAttempts.delete(oldest);
    }
  }
}

const REFERENCE_PREFIX = 'sim_auth_';

function approved(idempotencyKey: string): AuthorizeResult {
  return { approved: true, reference: `${REFERENCE_PREFIX}${idempotencyKey}` };
}

function checkAmount(amount: { amountCents: number; currency: string }): void {
  if (!Number.isSafeInteger(amount.amountCents) || amount.amountCents < 0) {
    throw new RangeError(`amountCents must be a whole number >= 0, got ${amount.amountCents}`);
  }
  if (!/^[A-Z]{3}$/.test(amount.currency)) throw new RangeError(`not a currency code: ${amount.currency}`);
}

/** A real provider refuses to act on an authorization it never issued; so does this one. */
function checkReference(request: ReferenceRequest): void {
  checkAmount(request);
  if (!request.reference.startsWith(REFERENCE_PREFIX)) {
    throw new Error(`unknown authorization reference ${request.reference}`);
  }
}
