// Payments: authorize, capture, void and refund, one payment per order. Knows nothing of
// GraphQL or NATS.
//
// Every command function takes an EntityManager that is already inside a transaction (the
// message handler's inbox transaction) and:
//  - takes a transaction-scoped advisory lock on the order id first, so commands for one order
//    run one at a time across every instance, even before a payment row exists;
//  - is idempotent by order id: a command already carried out returns what was recorded and
//    does not call the provider again;
//  - calls the provider before writing, so a ProviderUnavailableError rolls the whole
//    transaction back and leaves nothing behind for the retry to trip over;
//  - records each operation with its amount in payment_events.
//
// Transitions (anything else is a PaymentStateConflict):
//   (none)      authorize -> AUTHORIZED | DECLINED      void -> VOIDED tombstone
//   AUTHORIZED  capture -> CAPTURED                     void -> VOIDED
//   CAPTURED    refund -> REFUNDED
//   repeats     authorize: the recorded outcome; capture of CAPTURED or REFUNDED, void of VOIDED
//               or DECLINED (nothing is held), refund of REFUNDED: nothing to do.
// A tombstone (VOIDED with no authorization) refuses a late authorize as declined with reason
// VOIDED, so no money is ever held, let alone captured, for an order that was called off.
import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError } from '../../../../shared/errors.ts';
import { NO_CURRENCY, Payment, type PaymentStatus } from './payment.entity.ts';
import { PaymentEvent, type PaymentEventKind } from './payment-event.entity.ts';
import type { PaymentProvider } from './provider/payment-provider.ts';
import {
  findPaymentOfOrder,
  findPaymentsOfOrders,
  insertPayment,
  insertPaymentEvent,
  lockKeys,
  updatePayment,
} from './payment.store.ts';

/** The decline reason of an authorize that arrives after the order's payment was voided. */
export const VOIDED_REASON = 'VOIDED';

export interface AuthorizeCommand {
  readonly orderId: string;
  readonly customerId: string;
  readonly paymentMethod: string;
  readonly amountCents: number;
  readonly currency: string;
}

export type AuthorizeOutcome =
  | { readonly approved: true; readonly payment: Payment; readonly changed: boolean }
  | {
      readonly approved: false;
      readonly reason: string;
      readonly payment: Payment;
      readonly changed: boolean;
    };

export interface PaymentOutcome {
  readonly payment: Payment;
  /** False when the command had been carried out before (or there was nothing to do). */
  readonly changed: boolean;
  /**
   * True when the command lost a race the saga expects and must not be answered: a capture
   * that arrives after the order's cancellation voided the payment, or a void that arrives
   * after the capture (orders then asks for a refund when it sees the capture).
   */
  readonly overtaken?: boolean;
}

/** A command that the payment's current status does not allow (e.g. capture after void). */
export class PaymentStateConflict extends ConflictError {
  readonly orderId: string;
  readonly status: PaymentStatus | null;
  constructor(operation: string, orderId: string, status: PaymentStatus | null) {
    super(
      status
        ? `Cannot ${operation} the payment of order ${orderId}: it is ${status}`
        : `Cannot ${operation} the payment of order ${orderId}: there is none`,
      { orderId, status },
    );
    this.orderId = orderId;
    this.status = status;
  }
}

export async function authorizePayment(
  em: EntityManager,
  provider: PaymentProvider,
  command: AuthorizeCommand,
): Promise<AuthorizeOutcome> {
  const existing = await lockPayment(em, command.orderId);
  if (existing) return authorizeAgain(em, existing, command);

  const result = await provider.authorize({
    idempotencyKey: command.orderId,
    paymentMethod: command.paymentMethod,
    amountCents: command.amountCents,
    currency: command.currency,
  });
  const payment = await created(em, {
    orderId: command.orderId,
    customerId: command.customerId,
    amountCents: command.amountCents,
    currency: command.currency,
    paymentMethod: command.paymentMethod,
    status: result.approved ? 'AUTHORIZED' : 'DECLINED',
    declineReason: result.approved ? null : result.reason,
    providerReference: result.approved ? result.reference : null,
  });
  await record(
    em,
    payment,
    result.approved ? 'AUTHORIZED' : 'DECLINED',
    result.approved ? null : result.reason,
  );
  return result.approved
    ? { approved: true, payment, changed: true }
    : { approved: false, reason: result.reason, payment, changed: true };
}

/** An authorize for an order that has a payment: the recorded outcome, or a refusal if voided. */
async function authorizeAgain(
  em: EntityManager,
  payment: Payment,
  command: AuthorizeCommand,
): Promise<AuthorizeOutcome> {
  if (isTombstone(payment)) {
    // The first late authorize is recorded (who, how much, refused); later ones change nothing.
    const first = payment.declineReason === null;
    if (first) {
      payment.customerId ??= command.customerId;
      payment.amountCents = command.amountCents;
      payment.currency = command.currency;
      payment.paymentMethod = command.paymentMethod;
      payment.declineReason = VOIDED_REASON;
      await saved(em, payment);
      await record(em, payment, 'DECLINED', VOIDED_REASON);
    }
    return { approved: false, reason: VOIDED_REASON, payment, changed: first };
  }
  if (payment.status === 'DECLINED') {
    return { approved: false, reason: payment.declineReason ?? 'DECLINED', payment, changed: false };
  }
  // AUTHORIZED, or later states of a payment that was authorized.
  return { approved: true, payment, changed: false };
}

export async function capturePayment(
  em: EntityManager,
  provider: PaymentProvider,
  orderId: string,
): Promise<PaymentOutcome> {
  const payment = await lockPayment(em, orderId);
  if (payment?.status === 'CAPTURED' || payment?.status === 'REFUNDED') return { payment, changed: false };
  if (payment?.status === 'VOIDED') return { payment, changed: false, overtaken: true };
  if (payment?.status !== 'AUTHORIZED')
    throw new PaymentStateConflict('capture', orderId, payment?.status ?? null);
  await provider.capture(referenceRequest(payment, 'capture'));
  return transition(em, payment, 'CAPTURED');
}

export async function voidPayment(
  em: EntityManager,
  provider: PaymentProvider,
  orderId: string,
): Promise<PaymentOutcome> {
  const payment = await lockPayment(em, orderId);
  if (!payment) {
    // Void before authorize: a tombstone, so that the authorize, if it comes, is refused.
    const tombstone = await created(em, {
      orderId,
      customerId: null,
      amountCents: 0,
      currency: NO_CURRENCY,
      status: 'VOIDED',
      declineReason: null,
      paymentMethod: null,
      providerReference: null,
    });
    await record(em, tombstone, 'VOIDED', null);
    return { payment: tombstone, changed: true };
  }
  if (payment.status === 'VOIDED' || payment.status === 'DECLINED') return { payment, changed: false };
  if (payment.status === 'CAPTURED' || payment.status === 'REFUNDED')
    return { payment, changed: false, overtaken: true };
  if (payment.status !== 'AUTHORIZED') throw new PaymentStateConflict('void', orderId, payment.status);
  await provider.void(referenceRequest(payment, 'void'));
  return transition(em, payment, 'VOIDED');
}

export async function refundPayment(
  em: EntityManager,
  provider: PaymentProvider,
  orderId: string,
): Promise<PaymentOutcome> {
  const payment = await lockPayment(em, orderId);
  if (payment?.status === 'REFUNDED') return { payment, changed: false };
  if (payment?.status !== 'CAPTURED')
    throw new PaymentStateConflict('refund', orderId, payment?.status ?? null);
  await provider.refund(referenceRequest(payment, 'refund'));
  return transition(em, payment, 'REFUNDED');
}

// --- reads (one query per batch) ---

/** The events of many payments, oldest first. */
export function findPaymentEvents(em: EntityManager, paymentIds: readonly string[]): Promise<PaymentEvent[]> {
  return em.find(PaymentEvent, { payment: { $in: [...paymentIds] } }, { orderBy: { id: 'asc' } });
}

// --- helpers ---

/** Payments a transaction has locked with `lockPayments`, by order id (null: none yet). */
const lockedBefore = new WeakMap<EntityManager, Map<string, Payment | null>>();

const lockKey = (orderId: string) => `payments:order:${orderId}`;

function requireTransaction(em: EntityManager): void {
  if (!em.isInTransaction()) {
    throw new Error('payment commands must run inside a transaction (the inbox transaction)');
  }
}

/**
 * Takes the command lock of several orders in one statement, in a fixed order (so two
 * transactions doing this never wait on each other in a cycle), then reads their payments in
 * one more. `lockPayment` in the same transaction then needs no statement for them.
 */
export async function lockPayments(em: EntityManager, orderIds: readonly string[]): Promise<void> {
  requireTransaction(em);
  const keys = [...new Set(orderIds)].sort();
  if (keys.length === 0) return;
  // Nobody reads the locks' result: they travel with the read below (pipelined-client.ts).
  await lockKeys(em, keys.map(lockKey));
  // Read after every lock is held, so no command that committed meanwhile is missed.
  const payments = await findPaymentsOfOrders(em, keys);
  const locked = lockedBefore.get(em) ?? new Map<string, Payment | null>();
  for (const orderId of keys) locked.set(orderId, null);
  for (const payment of payments) locked.set(payment.orderId, payment);
  lockedBefore.set(em, locked);
}

/** Serializes every command for one order (across instances) and reads its payment afresh. */
async function lockPayment(em: EntityManager, orderId: string): Promise<Payment | null> {
  requireTransaction(em);
  const locked = lockedBefore.get(em);
  if (locked?.has(orderId)) return locked.get(orderId)!;
  await lockKeys(em, [lockKey(orderId)]);
  return (await findPaymentOfOrder(em, orderId)) ?? null;
}

type NewPayment = Pick<
  Payment,
  | 'orderId'
  | 'customerId'
  | 'amountCents'
  | 'currency'
  | 'status'
  | 'declineReason'
  | 'paymentMethod'
  | 'providerReference'
>;

/** A payment created in this transaction; a later command of the same batch finds it. */
async function created(em: EntityManager, fields: NewPayment): Promise<Payment> {
  const now = new Date();
  const payment: Payment = { ...fields, id: crypto.randomUUID(), createdAt: now, updatedAt: now, version: 1 };
  await insertPayment(em, payment);
  lockedBefore.get(em)?.set(payment.orderId, payment);
  return payment;
}

/** Writes a changed payment (its row is locked: the order's command lock is held). */
async function saved(em: EntityManager, payment: Payment): Promise<void> {
  payment.updatedAt = new Date();
  payment.version += 1;
  await updatePayment(em, payment);
}

/**
 * The order's payment as its readers see it: a void tombstone that no authorize ever reached
 * (the order was cancelled before it paid) is not a payment, so an order shows none.
 */
export function paymentOfOrder(payment: Payment | null): Payment | null {
  return payment && payment.status === 'VOIDED' && payment.customerId === null ? null : payment;
}

function isTombstone(payment: Payment): boolean {
  return payment.status === 'VOIDED' && payment.providerReference === null;
}

function referenceRequest(payment: Payment, operation: 'capture' | 'void' | 'refund') {
  return {
    idempotencyKey: `${payment.orderId}:${operation}`,
    reference: payment.providerReference!,
    amountCents: payment.amountCents,
    currency: payment.currency,
  };
}

async function transition(
  em: EntityManager,
  payment: Payment,
  status: PaymentStatus & PaymentEventKind,
): Promise<PaymentOutcome> {
  payment.status = status;
  await saved(em, payment);
  await record(em, payment, status, null);
  return { payment, changed: true };
}

async function record(
  em: EntityManager,
  payment: Payment,
  kind: PaymentEventKind,
  reason: string | null,
): Promise<void> {
  await insertPaymentEvent(em, {
    payment: payment.id,
    kind,
    amountCents: payment.amountCents,
    currency: payment.currency,
    reason,
    at: new Date(),
  });
}
