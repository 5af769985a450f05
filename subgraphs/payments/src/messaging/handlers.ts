// The commands payments handles (`payments.cmd.*`) and the replies it publishes
// (`payments.evt.*`). Each handler runs inside the consumer's inbox transaction: it calls the
// domain with that EntityManager and writes its reply to the outbox in the same transaction,
// so the effect, the reply and the inbox row commit together or not at all.
//
// Errors: a ProviderUnavailableError (isTransientProviderError) propagates so the consumer
// rolls back and redelivers with backoff: an authorization or capture is dead-lettered once
// its deliveries run out (which ends the saga), a void or refund is retried for as long as the
// provider is away (retriesUntilDone: undoing must happen, and nothing else would ask again).
// A PaymentStateConflict (an illegal transition such as capture after void) will not pass by
// retrying: it becomes a PermanentFailure, which the consumer sends to the dead-letter stream at
// once. A command whose outcome was recorded is answered again from the record. One whose
// transaction rolled back after the provider answered (a batch-mate failed, the database went
// away before COMMIT) calls the provider again with the same idempotency key, which the
// provider contract requires to be harmless (payment-provider.ts).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Counter } from 'prom-client';
import type { PayloadOf } from '../../../../shared/contracts/index.ts';
import { enqueue } from '../../../../shared/messaging/outbox.ts';
import { PermanentFailure } from '../../../../shared/messaging/consumer.ts';
import { isTransientProviderError, type PaymentProvider } from '../domain/provider/payment-provider.ts';
import {
  PaymentStateConflict,
  authorizePayment,
  capturePayment,
  refundPayment,
  voidPayment,
} from '../domain/payments.ts';

export const PAYMENT_COMMAND_SUBJECTS = [
  'payments.cmd.authorize',
  'payments.cmd.capture',
  'payments.cmd.void',
  'payments.cmd.refund',
] as const;
export type PaymentCommandSubject = (typeof PAYMENT_COMMAND_SUBJECTS)[number];

/** Payloads arrive validated against the contract (`validateMessage`) by the consumer. */
export type PaymentHandler<S extends PaymentCommandSubject> = (
  em: EntityManager,
  payload: PayloadOf<S>,
) => Promise<void>;

export type PaymentHandlers = { readonly [S in PaymentCommandSubject]: PaymentHandler<S> };

export interface PaymentHandlerDeps {
  readonly provider: PaymentProvider;
  /** `payments_operations_total{operation, outcome}`; counted when something changed. */
  readonly operations?: Counter<'operation' | 'outcome'>;
}

/** The commands that undo: retried while the provider is away, however long, never dead-lettered. */
const UNDOING: ReadonlySet<string> = new Set<PaymentCommandSubject>([
  'payments.cmd.void',
  'payments.cmd.refund',
]);

/** For the consumer: a failure retried until it passes (ConsumerOptions.retriesUntilDone). */
export function retriedUntilDone(subject: string, err: unknown): boolean {
  return UNDOING.has(subject) && isTransientProviderError(err);
}

export function createPaymentHandlers(deps: PaymentHandlerDeps): PaymentHandlers {
  const count = (operation: string, outcome: string, changed: boolean) => {
    if (changed) deps.operations?.inc({ operation, outcome });
  };
  return permanentOnConflict({
    'payments.cmd.authorize': async (em, payload) => {
      const result = await authorizePayment(em, deps.provider, payload);
      const { orderId } = payload;
      const paymentId = result.payment.id;
      if (result.approved) {
        count('authorize', 'authorized', result.changed);
        await enqueue(em, [{ subject: 'payments.evt.authorized', payload: { v: 1, orderId, paymentId } }]);
      } else {
        count('authorize', 'declined', result.changed);
        await enqueue(em, [
          { subject: 'payments.evt.declined', payload: { v: 1, orderId, paymentId, reason: result.reason } },
        ]);
      }
    },
    'payments.cmd.capture': async (em, { orderId }) => {
      const { changed, overtaken } = await capturePayment(em, deps.provider, orderId);
      if (overtaken) return;
      count('capture', 'captured', changed);
      await enqueue(em, [{ subject: 'payments.evt.captured', payload: { v: 1, orderId } }]);
    },
    'payments.cmd.void': async (em, { orderId }) => {
      const { changed, overtaken } = await voidPayment(em, deps.provider, orderId);
      if (overtaken) return;
      count('void', 'voided', changed);
      await enqueue(em, [{ subject: 'payments.evt.voided', payload: { v: 1, orderId } }]);
    },
    'payments.cmd.refund': async (em, { orderId }) => {
      const { changed } = await refundPayment(em, deps.provider, orderId);
      count('refund', 'refunded', changed);
      await enqueue(em, [{ subject: 'payments.evt.refunded', payload: { v: 1, orderId } }]);
    },
  });
}

/** An illegal transition will not pass by retrying: dead-letter it at once. */
function permanentOnConflict(handlers: PaymentHandlers): PaymentHandlers {
  const wrap =
    <S extends PaymentCommandSubject>(handler: PaymentHandler<S>): PaymentHandler<S> =>
    async (em, payload) => {
      try {
        await handler(em, payload);
      } catch (err) {
        if (err instanceof PaymentStateConflict) throw new PermanentFailure(err.message, { cause: err });
        throw err;
      }
    };
  return {
    'payments.cmd.authorize': wrap(handlers['payments.cmd.authorize']),
    'payments.cmd.capture': wrap(handlers['payments.cmd.capture']),
    'payments.cmd.void': wrap(handlers['payments.cmd.void']),
    'payments.cmd.refund': wrap(handlers['payments.cmd.refund']),
  };
}
