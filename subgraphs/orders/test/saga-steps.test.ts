// Walks every row of the saga's step table (src/saga/steps.ts): for each reply and each status
// an order can be in, the next status and the commands sent; for each status, what cancelling
// undoes. The expectations are written out here, not derived from the table.
import { describe, expect, it } from '@jest/globals';
import { IN_FLIGHT_STATUSES, ORDER_STATUSES, type OrderStatus } from '../src/domain/order-status.ts';
import type { Order } from '../src/domain/order.entity.ts';
import {
  SAGA_REPLIES,
  SAGA_STEPS,
  compensationsFor,
  deadLetterReason,
  outcomeOf,
  reserveCommand,
  ruleFor,
  stepRunningIn,
  type Holds,
  type SagaReply,
} from '../src/saga/steps.ts';

const orderId = '11111111-1111-4111-8111-111111111111';
const customerId = '22222222-2222-4222-8222-222222222222';

function orderIn(status: OrderStatus, holds: Partial<Holds> = {}): Order {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    id: orderId,
    customerId,
    status,
    failureReason: null,
    totalCents: 2599,
    currency: 'EUR',
    paymentMethod: 'card-ok',
    idempotencyKey: null,
    statusSequence: 1,
    stepDeadline: null,
    stockCommitted: holds.stockCommitted ?? false,
    paymentCaptured: holds.paymentCaptured ?? false,
    createdAt: at,
    updatedAt: at,
  } as Order;
}

/** The outcome of `reply` for an order in `status`, as subjects and statuses. */
function outcome(reply: SagaReply, status: OrderStatus, holds: Partial<Holds> = {}) {
  const { records, change, send } = outcomeOf(ruleFor(reply)!, orderIn(status, holds), 'WHY');
  return {
    records: records ?? {},
    to: change?.to,
    reason: change?.reason,
    messages: change?.messages.map((m) => m.subject) ?? [],
    send: send.map((m) => m.subject),
  };
}

const nothing = { records: {}, to: undefined, reason: undefined, messages: [], send: [] };

/** Expects `reply` to do `expected[status]` in those statuses, and nothing in every other. */
function expectRow(
  reply: SagaReply,
  expected: Partial<Record<OrderStatus, Partial<ReturnType<typeof outcome>>>>,
  base: Partial<ReturnType<typeof outcome>> = {},
  holds: Partial<Holds> = {},
) {
  for (const status of ORDER_STATUSES) {
    expect({ status, ...outcome(reply, status, holds) }).toEqual({
      status,
      ...nothing,
      ...base,
      ...expected[status],
    });
  }
}

describe('saga step table', () => {
  it('runs its steps in the statuses in which a step deadline applies, in order', () => {
    expect(SAGA_STEPS.map((s) => [s.name, s.runsIn])).toEqual([
      ['reserve stock', 'PENDING'],
      ['authorize payment', 'INVENTORY_RESERVED'],
      ['confirm', 'PAYMENT_AUTHORIZED'],
    ]);
    expect(SAGA_STEPS.map((s) => s.runsIn)).toEqual(IN_FLIGHT_STATUSES);
    for (const status of ['CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const) {
      expect(stepRunningIn(status)).toBeUndefined();
    }
  });

  it('handles every reply of inventory and payments, each once', () => {
    expect([...SAGA_REPLIES].sort()).toEqual(
      [
        'inventory.evt.committed',
        'inventory.evt.released',
        'inventory.evt.reservation_rejected',
        'inventory.evt.reserved',
        'inventory.evt.restocked',
        'payments.evt.authorized',
        'payments.evt.captured',
        'payments.evt.declined',
        'payments.evt.refunded',
        'payments.evt.voided',
      ].sort(),
    );
  });

  it('reserve stock: placeOrder sends the reservation of the priced lines', () => {
    expect(SAGA_STEPS[0]!.commands).toBeNull();
    const lines = [{ productId: customerId, quantity: 2, unitPriceCents: 5 }];
    expect(reserveCommand(orderId, lines)).toEqual({
      subject: 'inventory.cmd.reserve',
      payload: { v: 1, orderId, items: [{ productId: customerId, quantity: 2 }] },
    });
  });

  it('reserved: PENDING advances and asks for the payment; after cancellation it is released', () => {
    expectRow('inventory.evt.reserved', {
      PENDING: { to: 'INVENTORY_RESERVED', messages: ['payments.cmd.authorize'] },
      CANCELLED: { send: ['inventory.cmd.release'] },
    });
    const [authorize] = outcomeOf(ruleFor('inventory.evt.reserved')!, orderIn('PENDING'), '').change!
      .messages;
    expect(authorize).toEqual({
      subject: 'payments.cmd.authorize',
      payload: { v: 1, orderId, customerId, paymentMethod: 'card-ok', amountCents: 2599, currency: 'EUR' },
    });
  });

  it('reservation rejected: PENDING is cancelled with its reason, nothing to undo', () => {
    expectRow('inventory.evt.reservation_rejected', { PENDING: { to: 'CANCELLED', reason: 'WHY' } });
  });

  it('authorized: INVENTORY_RESERVED advances and commits and captures; after cancellation it is voided', () => {
    expectRow('payments.evt.authorized', {
      INVENTORY_RESERVED: {
        to: 'PAYMENT_AUTHORIZED',
        messages: ['inventory.cmd.commit', 'payments.cmd.capture'],
      },
      CANCELLED: { send: ['payments.cmd.void'] },
    });
    const { messages } = outcomeOf(
      ruleFor('payments.evt.authorized')!,
      orderIn('INVENTORY_RESERVED'),
      '',
    ).change!;
    expect(messages.map((m) => m.payload)).toEqual([
      { v: 1, orderId },
      { v: 1, orderId },
    ]);
  });

  it('declined: INVENTORY_RESERVED is cancelled with its reason and the stock released', () => {
    expectRow('payments.evt.declined', {
      INVENTORY_RESERVED: { to: 'CANCELLED', reason: 'WHY', messages: ['inventory.cmd.release'] },
    });
  });

  it.each([
    ['inventory.evt.committed', 'stockCommitted', 'paymentCaptured', 'inventory.cmd.restock'],
    ['payments.evt.captured', 'paymentCaptured', 'stockCommitted', 'payments.cmd.refund'],
  ] as const)(
    '%s: recorded in every status; confirms once the other half is done; after cancellation undone',
    (reply, hold, otherHold, undo) => {
      const records = { [hold]: true };
      expectRow(reply, { CANCELLED: { send: [undo] } }, { records });
      expectRow(
        reply,
        { PAYMENT_AUTHORIZED: { to: 'CONFIRMED' }, CANCELLED: { send: [undo] } },
        { records },
        { [otherHold]: true },
      );
    },
  );

  it('replies to compensations record the holds undone and move nothing', () => {
    const both = { stockCommitted: true, paymentCaptured: true };
    expectRow('inventory.evt.restocked', {}, { records: { stockCommitted: false } }, both);
    expectRow('payments.evt.refunded', {}, { records: { paymentCaptured: false } }, both);
    expectRow('inventory.evt.released', {}, {}, both);
    expectRow('payments.evt.voided', {}, {}, both);
  });
});

describe('dead letters', () => {
  it('cancels with PAYMENT_FAILED when the authorization was dead-lettered, else PROCESSING_FAILED', () => {
    expect(deadLetterReason('t_ns.payments.cmd.authorize')).toBe('PAYMENT_FAILED');
    expect(deadLetterReason('payments.cmd.authorize')).toBe('PAYMENT_FAILED');
    expect(deadLetterReason('t_ns.inventory.cmd.reserve')).toBe('PROCESSING_FAILED');
    expect(deadLetterReason('t_ns.payments.cmd.capture')).toBe('PROCESSING_FAILED');
    expect(deadLetterReason('')).toBe('PROCESSING_FAILED');
  });
});

describe('compensations', () => {
  const none = { stockCommitted: false, paymentCaptured: false };
  const both = { stockCommitted: true, paymentCaptured: true };

  it('releases a reservation that may still be on its way', () => {
    expect(compensationsFor('PENDING', none)).toEqual(['inventory.cmd.release']);
    expect(compensationsFor('PENDING', both)).toEqual(['inventory.cmd.release']);
  });

  it('releases stock and voids an authorization that may be on its way', () => {
    expect(compensationsFor('INVENTORY_RESERVED', none)).toEqual([
      'inventory.cmd.release',
      'payments.cmd.void',
    ]);
  });

  it('undoes what confirmation did, as far as it got, until the order is delivered', () => {
    for (const status of ['PAYMENT_AUTHORIZED', 'CONFIRMED', 'SHIPPED'] as const) {
      expect(compensationsFor(status, none)).toEqual(['inventory.cmd.release', 'payments.cmd.void']);
      expect(compensationsFor(status, both)).toEqual(['inventory.cmd.restock', 'payments.cmd.refund']);
      expect(compensationsFor(status, { stockCommitted: true, paymentCaptured: false })).toEqual([
        'inventory.cmd.restock',
        'payments.cmd.void',
      ]);
      expect(compensationsFor(status, { stockCommitted: false, paymentCaptured: true })).toEqual([
        'inventory.cmd.release',
        'payments.cmd.refund',
      ]);
    }
  });

  it('has nothing to undo for a finished order', () => {
    expect(compensationsFor('CANCELLED', both)).toEqual([]);
    expect(compensationsFor('DELIVERED', both)).toEqual([]);
  });
});
