import { describe, expect, it } from '@jest/globals';
import { ProviderUnavailableError } from '../domain/provider/payment-provider.ts';
import { PAYMENT_COMMAND_SUBJECTS, retriedUntilDone } from './handlers.ts';

describe('retriedUntilDone', () => {
  it('keeps a void or refund coming back while the provider is away, and only those', () => {
    const away = new ProviderUnavailableError('provider away');
    expect(PAYMENT_COMMAND_SUBJECTS.filter((subject) => retriedUntilDone(subject, away))).toEqual([
      'payments.cmd.void',
      'payments.cmd.refund',
    ]);
  });

  it('leaves any other failure of a void to the dead-letter stream once its deliveries run out', () => {
    expect(retriedUntilDone('payments.cmd.void', new Error('bad reference'))).toBe(false);
  });
});
