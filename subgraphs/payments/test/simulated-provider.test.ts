import { describe, expect, it } from '@jest/globals';
import {
  DECLINE_REASONS,
  SimulatedPaymentProvider,
  TEST_CARDS,
} from '../src/domain/provider/simulated-provider.ts';
import {
  ProviderUnavailableError,
  isTransientProviderError,
  type AuthorizeRequest,
} from '../src/domain/provider/payment-provider.ts';

const ORDER_A = '00000000-0000-4000-8000-00000000000a';
const ORDER_B = '00000000-0000-4000-8000-00000000000b';

const request = (paymentMethod: string, idempotencyKey = ORDER_A): AuthorizeRequest => ({
  idempotencyKey,
  paymentMethod,
  amountCents: 1999,
  currency: 'USD',
});

describe('SimulatedPaymentProvider', () => {
  it('approves pm_card_visa with a reference derived from the idempotency key', async () => {
    const provider = new SimulatedPaymentProvider();
    const first = await provider.authorize(request(TEST_CARDS.visa));
    const again = await provider.authorize(request(TEST_CARDS.visa));
    expect(first).toEqual({ approved: true, reference: expect.stringContaining(ORDER_A) });
    expect(again).toEqual(first);
  });

  it('declines pm_card_chargeDeclined with PAYMENT_DECLINED', async () => {
    const result = await new SimulatedPaymentProvider().authorize(request(TEST_CARDS.declined));
    expect(result).toEqual({ approved: false, reason: DECLINE_REASONS.declined });
    expect(DECLINE_REASONS.declined).toBe('PAYMENT_DECLINED');
  });

  it('declines unknown payment methods with a reason that says so', async () => {
    const result = await new SimulatedPaymentProvider().authorize(request('pm_card_mastercard_typo'));
    expect(result).toEqual({ approved: false, reason: 'UNKNOWN_PAYMENT_METHOD' });
  });

  it('fails pm_card_flaky transiently on the first two attempts of each order, then approves', async () => {
    const provider = new SimulatedPaymentProvider();
    for (const attempt of [1, 2]) {
      const error = await provider.authorize(request(TEST_CARDS.flaky)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(isTransientProviderError(error)).toBe(true);
      expect((error as Error).message).toContain(`attempt ${attempt}`);
    }
    // Another order has its own count.
    await expect(provider.authorize(request(TEST_CARDS.flaky, ORDER_B))).rejects.toThrow(
      ProviderUnavailableError,
    );
    expect(await provider.authorize(request(TEST_CARDS.flaky))).toEqual({
      approved: true,
      reference: expect.any(String),
    });
    // Once approved, it stays approved (the count was for the outage, not the card).
    expect((await provider.authorize(request(TEST_CARDS.flaky))).approved).toBe(true);
  });

  it('takes the number of flaky failures as an option', async () => {
    const never = new SimulatedPaymentProvider({ flakyFailures: 0 });
    expect((await never.authorize(request(TEST_CARDS.flaky))).approved).toBe(true);
    const once = new SimulatedPaymentProvider({ flakyFailures: 1 });
    await expect(once.authorize(request(TEST_CARDS.flaky))).rejects.toThrow(ProviderUnavailableError);
    expect((await once.authorize(request(TEST_CARDS.flaky))).approved).toBe(true);
    expect(() => new SimulatedPaymentProvider({ flakyFailures: -1 })).toThrow(RangeError);
  });

  it('forgets the oldest flaky counts beyond its bound', async () => {
    const provider = new SimulatedPaymentProvider({ flakyFailures: 1, maxTrackedOrders: 1 });
    await expect(provider.authorize(request(TEST_CARDS.flaky, ORDER_A))).rejects.toThrow();
    await expect(provider.authorize(request(TEST_CARDS.flaky, ORDER_B))).rejects.toThrow();
    // A's count was dropped: it fails once more instead of approving.
    await expect(provider.authorize(request(TEST_CARDS.flaky, ORDER_A))).rejects.toThrow();
  });

  it('fails pm_card_unavailable transiently every time', async () => {
    const provider = new SimulatedPaymentProvider();
    for (let i = 0; i < 5; i++) {
      await expect(provider.authorize(request(TEST_CARDS.unavailable))).rejects.toThrow(
        ProviderUnavailableError,
      );
    }
  });

  it('refuses bad amounts and currencies', async () => {
    const provider = new SimulatedPaymentProvider();
    await expect(provider.authorize({ ...request(TEST_CARDS.visa), amountCents: 1.5 })).rejects.toThrow(
      RangeError,
    );
    await expect(provider.authorize({ ...request(TEST_CARDS.visa), amountCents: -1 })).rejects.toThrow(
      RangeError,
    );
    await expect(provider.authorize({ ...request(TEST_CARDS.visa), currency: 'usd' })).rejects.toThrow(
      RangeError,
    );
  });

  it('captures, voids and refunds only authorizations it issued, and records every call', async () => {
    const provider = new SimulatedPaymentProvider();
    const result = await provider.authorize(request(TEST_CARDS.visa));
    if (!result.approved) throw new Error('expected approval');
    const ref = { reference: result.reference, amountCents: 1999, currency: 'USD' };
    await provider.capture({ ...ref, idempotencyKey: `${ORDER_A}:capture` });
    await provider.refund({ ...ref, idempotencyKey: `${ORDER_A}:refund` });
    await provider.void({ ...ref, idempotencyKey: `${ORDER_A}:void` });
    await expect(
      provider.capture({ ...ref, reference: 'ch_somebody_else', idempotencyKey: `${ORDER_B}:capture` }),
    ).rejects.toThrow(/unknown authorization/);
    expect(provider.calls.map((c) => c.operation)).toEqual([
      'authorize',
      'capture',
      'refund',
      'void',
      'capture',
    ]);
  });

  it('is not transient for other errors', () => {
    expect(isTransientProviderError(new Error('boom'))).toBe(false);
  });
});
