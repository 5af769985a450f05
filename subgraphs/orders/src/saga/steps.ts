// The saga as data: its steps in order, each with the status it runs in, the commands that
// start it, the replies that advance or fail it, what undoes it, and what a reply that arrives
// after the order was cancelled is answered with. The orchestrator (orchestrator.ts) only
// interprets this table; cancellations (timeouts, dead letters, cancelOrder) read their
// compensations from it. In the spirit of Medusa's workflow steps: each step beside its undo.
//
//   PENDING ─reserved─▶ INVENTORY_RESERVED ─authorized─▶ PAYMENT_AUTHORIZED ─committed+captured─▶ CONFIRMED
//   PENDING ─rejected─▶ CANCELLED(reason)
//   INVENTORY_RESERVED ─declined─▶ release ─▶ CANCELLED(reason)
//   any running step overdue or dead-lettered ─▶ its compensation ─▶ CANCELLED(TIMEOUT | …_FAILED)
import type { OutgoingMessage } from '../../../../shared/messaging/outbox.ts';
import type { Subject } from '../../../../shared/contracts/index.ts';
import type { OrderStatus } from '../domain/order-status.ts';
import type { Order } from '../domain/order.entity.ts';

/** What the saga holds for an order beyond its status: the two halves of confirmation. */
export interface Holds {
  readonly stockCommitted: boolean;
  readonly paymentCaptured: boolean;
}
export type Compensation =
  'inventory.cmd.release' | 'inventory.cmd.restock' | 'payments.cmd.void' | 'payments.cmd.refund';

/** The replies of inventory and payments that orders handles (low-stock alerts are not for the saga). */
export type SagaReply = Exclude<
  Extract<Subject, `inventory.evt.${string}` | `payments.evt.${string}`>,
  'inventory.evt.stock_low'
>;

/** How one reply moves its step. A step with several advancing replies advances once all are recorded. */
export interface ReplyRule {
  /** Set on the order whatever its status, and saved: what the reply tells of the holds. */
  readonly records?: Partial<Holds>;
  /** In the step's status: the status the order moves to (sending the next step's commands). */
  readonly advancesTo?: OrderStatus;
  /** In the step's status: the order is CANCELLED with the reply's reason, and these undo what was done. */
  readonly failsWith?: readonly Compensation[];
  /** The order is already CANCELLED: these undo what the reply says was done. */
  readonly afterCancel?: readonly Compensation[];
}

export interface SagaStep {
  readonly name: string;
  /** The status the order holds while the step runs: its commands sent, its replies awaited. */
  readonly runsIn: OrderStatus;
  /** The commands that start the step, sent with the change into `runsIn`; null: placeOrder sends them. */
  readonly commands: ((order: Order) => OutgoingMessage[]) | null;
  readonly replies: Readonly<Partial<Record<SagaReply, ReplyRule>>>;
  /** What cancelling the order while the step runs must undo, given what the saga has done. */
  readonly compensation: (holds: Holds) => Compensation[];
  /** The reason an order is cancelled with when this command is dead-lettered (else PROCESSING_FAILED). */
  readonly deadLettered?: { readonly command: Subject; readonly reason: string };
}

/** A command that carries nothing but the order's id (compensations, commit, capture). */
export const orderCommand = (subject: Compensation | Subject, orderId: string): OutgoingMessage =>
  ({ subject, payload: { v: 1, orderId } }) as OutgoingMessage;

/** The first step's command, sent by placeOrder with the order it creates. */
export function reserveCommand(
  orderId: string,
  lines: readonly { readonly productId: string; readonly quantity: number }[],
): OutgoingMessage<'inventory.cmd.reserve'> {
  return {
    subject: 'inventory.cmd.reserve',
    payload: {
      v: 1,
      orderId,
      items: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    },
  };
}

/** Undoes confirmation's halves as far as they got; also what cancelling a CONFIRMED or SHIPPED order undoes. */
const undoConfirmation = (holds: Holds): Compensation[] => [
  holds.stockCommitted ? 'inventory.cmd.restock' : 'inventory.cmd.release',
  holds.paymentCaptured ? 'payments.cmd.refund' : 'payments.cmd.void',
];

export const SAGA_STEPS: readonly SagaStep[] = [
  {
    name: 'reserve stock',
    runsIn: 'PENDING',
    commands: null, // reserveCommand, with the priced lines only placeOrder holds.
    replies: {
      'inventory.evt.reserved': { advancesTo: 'INVENTORY_RESERVED', afterCancel: ['inventory.cmd.release'] },
      'inventory.evt.reservation_rejected': { failsWith: [] },
    },
    // A reservation may be on its way: the release leaves a tombstone that refuses it.
    compensation: () => ['inventory.cmd.release'],
  },
  {
    name: 'authorize payment',
    runsIn: 'INVENTORY_RESERVED',
    commands: (order) => [
      {
        subject: 'payments.cmd.authorize',
        payload: {
          v: 1,
          orderId: order.id,
          customerId: order.customerId,
          paymentMethod: order.paymentMethod,
          amountCents: order.totalCents,
          currency: order.currency,
        },
      },
    ],
    replies: {
      'payments.evt.authorized': { advancesTo: 'PAYMENT_AUTHORIZED', afterCancel: ['payments.cmd.void'] },
      'payments.evt.declined': { failsWith: ['inventory.cmd.release'] },
    },
    // An authorization may be on its way: the void leaves a tombstone that refuses it.
    compensation: () => ['inventory.cmd.release', 'payments.cmd.void'],
    // Payments could not handle the authorization: the customer is told it was the payment.
    deadLettered: { command: 'payments.cmd.authorize', reason: 'PAYMENT_FAILED' },
  },
  {
    name: 'confirm',
    runsIn: 'PAYMENT_AUTHORIZED',
    commands: (order) => [
      orderCommand('inventory.cmd.commit', order.id),
      orderCommand('payments.cmd.capture', order.id),
    ],
    replies: {
      'inventory.evt.committed': {
        records: { stockCommitted: true },
        advancesTo: 'CONFIRMED',
        afterCancel: ['inventory.cmd.restock'],
      },
      'payments.evt.captured': {
        records: { paymentCaptured: true },
        advancesTo: 'CONFIRMED',
        afterCancel: ['payments.cmd.refund'],
      },
    },
    compensation: undoConfirmation,
  },
];

/**
 * Replies to compensations. The holds they undo are recorded, so that a later cancellation does
 * not ask to undo them twice; a released reservation or voided authorization needs nothing.
 */
const COMPENSATION_REPLIES: Readonly<Partial<Record<SagaReply, ReplyRule>>> = {
  'inventory.evt.restocked': { records: { stockCommitted: false } },
  'payments.evt.refunded': { records: { paymentCaptured: false } },
  'inventory.evt.released': {},
  'payments.evt.voided': {},
};

/** Statuses after the saga from which an order can still be cancelled: confirmation is undone. */
const CANCELLABLE_AFTER_SAGA: readonly OrderStatus[] = ['CONFIRMED', 'SHIPPED'];

/** The step running while the order is in `status`, if any. */
export function stepRunningIn(status: OrderStatus): SagaStep | undefined {
  return SAGA_STEPS.find((step) => step.runsIn === status);
}

/** A reply's rule and the step it answers (none for replies to compensations). */
export interface ReplyRow {
  readonly step?: SagaStep;
  readonly rule: ReplyRule;
}

export function ruleFor(reply: SagaReply): ReplyRow | undefined {
  for (const step of SAGA_STEPS) {
    const rule = step.replies[reply];
    if (rule) return { step, rule };
  }
  const rule = COMPENSATION_REPLIES[reply];
  return rule && { rule };
}

/** Every reply the table knows, in table order: the subjects the orchestrator handles. */
export const SAGA_REPLIES: readonly SagaReply[] = [
  ...SAGA_STEPS.flatMap((step) => Object.keys(step.replies) as SagaReply[]),
  ...(Object.keys(COMPENSATION_REPLIES) as SagaReply[]),
];

/** Whether every advancing reply of `step` has been recorded on `holds` (a reply that records nothing counts once received). */
function stepComplete(step: SagaStep, holds: Holds): boolean {
  return Object.values(step.replies).every(
    (rule) =>
      !rule.advancesTo ||
      Object.entries(rule.records ?? {}).every(([hold, value]) => holds[hold as keyof Holds] === value),
  );
}

/** The commands sent with a change into `status`: those that start the step running in it. */
function commandsOnEntering(status: OrderStatus, order: Order): OutgoingMessage[] {
  return stepRunningIn(status)?.commands?.(order) ?? [];
}

/** What has to be undone when an order in `status` is cancelled, given what the saga has done. */
export function compensationsFor(status: OrderStatus, holds: Holds): Compensation[] {
  const step = stepRunningIn(status);
  if (step) return step.compensation(holds);
  return CANCELLABLE_AFTER_SAGA.includes(status) ? undoConfirmation(holds) : [];
}

/** The reason a dead-lettered saga message (by its subject as published) cancels its order with. */
export function deadLetterReason(originalSubject: string): string {
  const step = SAGA_STEPS.find((s) => s.deadLettered && originalSubject.endsWith(s.deadLettered.command));
  return step?.deadLettered?.reason ?? 'PROCESSING_FAILED';
}

/** What a reply does to an order, as the table says; the orchestrator carries it out. */
export interface ReplyOutcome {
  /** Holds to set on the order; saved with the status change, or on their own without one. */
  readonly records?: Partial<Holds>;
  /** The order's next status, with the reason (CANCELLED) and the commands sent with it. */
  readonly change?: {
    readonly to: OrderStatus;
    readonly reason?: string;
    readonly messages: OutgoingMessage[];
  };
  /** Commands sent without a status change: a late reply's compensations. */
  readonly send: OutgoingMessage[];
}

/** Pure: the outcome of `row`'s reply (with `reason` if it fails a step) for `order` as it is now. */
export function outcomeOf({ step, rule }: ReplyRow, order: Order, reason: string): ReplyOutcome {
  const { records } = rule;
  if (step && order.status === step.runsIn) {
    if (rule.failsWith) {
      const messages = rule.failsWith.map((subject) => orderCommand(subject, order.id));
      return { records, change: { to: 'CANCELLED', reason, messages }, send: [] };
    }
    if (rule.advancesTo && stepComplete(step, { ...holdsOf(order), ...records })) {
      const messages = commandsOnEntering(rule.advancesTo, order);
      return { records, change: { to: rule.advancesTo, messages }, send: [] };
    }
  }
  const late = order.status === 'CANCELLED' ? (rule.afterCancel ?? []) : [];
  return { records, send: late.map((subject) => orderCommand(subject, order.id)) };
}

const holdsOf = (order: Holds): Holds => ({
  stockCommitted: order.stockCommitted,
  paymentCaptured: order.paymentCaptured,
});
