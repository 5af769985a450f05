// The NATS contract: every subject a service publishes, with the version and shape of its
// body. Publishers validate before writing to the outbox; consumers validate on receipt and
// dead-letter what does not match. A breaking change gets a new version number here.
import { z } from 'zod';
import { ROLES } from '../auth/identity.ts';

const id = z.uuid();
/** PostgreSQL's `integer`, the type both products and orders store a revision in. */
const INT4_MAX = 2_147_483_647;
const orderId = z.object({ v: z.literal(1), orderId: id });
const money = { amountCents: z.number().int().nonnegative(), currency: z.string().regex(/^[A-Z]{3}$/) };

export const ORDER_STATUSES = [
  'PENDING',
  'INVENTORY_RESERVED',
  'PAYMENT_AUTHORIZED',
  'CONFIRMED',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
] as const;

/** What a notification needs of an order, as it was placed (items and totals never change after). */
const orderSummary = z.object({
  items: z
    .array(
      z.object({
        productId: id,
        name: z.string(),
        quantity: z.number().int().positive(),
        unitPriceCents: z.number().int().nonnegative(),
      }),
    )
    .min(1)
    .max(100),
  ...money,
});

export const contracts = {
  // products → orders (orders keeps a local copy of what it needs to price an order)
  'products.evt.product_changed': z.object({
    v: z.literal(1),
    productId: id,
    sku: z.string(),
    name: z.string(),
    priceCents: z.number().int().nonnegative(),
    currency: z.string(),
    active: z.boolean(),
    /**
     * Grows with every change: a stale event never overwrites a newer copy. Bounded by what
     * both sides store, so a revision no product can reach is refused here (dead-lettered at
     * once) rather than failing orders' insert on every delivery. That only products may
     * publish this subject at all is NATS's to enforce (nats/permissions.ts).
     */
    revision: z.number().int().positive().max(INT4_MAX),
  }),

  // users → notifications (who to write to, and who the administrators are)
  'users.evt.user_changed': z.object({
    v: z.literal(1),
    userId: id,
    email: z.email(),
    name: z.string(),
    role: z.enum(ROLES),
    /** Grows with every change to the user: a stale event never overwrites a newer copy. */
    revision: z.number().int().positive().max(INT4_MAX),
  }),

  // orders → inventory
  'inventory.cmd.reserve': z.object({
    v: z.literal(1),
    orderId: id,
    items: z
      .array(z.object({ productId: id, quantity: z.number().int().positive() }))
      .min(1)
      .max(100),
  }),
  'inventory.cmd.release': orderId,
  'inventory.cmd.commit': orderId,
  'inventory.cmd.restock': orderId,
  // inventory → orders
  'inventory.evt.reserved': orderId,
  'inventory.evt.reservation_rejected': z.object({ v: z.literal(1), orderId: id, reason: z.string() }),
  'inventory.evt.released': orderId,
  'inventory.evt.committed': orderId,
  'inventory.evt.restocked': orderId,
  // inventory → notifications: available stock fell below LOW_STOCK_THRESHOLD. Published once per
  // crossing (the transaction that crossed it); `crossing` counts this product's crossings, so
  // an alert is keyed by (productId, crossing) and a redelivery is recognisable.
  'inventory.evt.stock_low': z.object({
    v: z.literal(1),
    productId: id,
    available: z.number().int().nonnegative(),
    threshold: z.number().int().positive(),
    crossing: z.number().int().positive().max(INT4_MAX),
  }),

  // orders → payments
  'payments.cmd.authorize': z.object({
    v: z.literal(1),
    orderId: id,
    customerId: id,
    paymentMethod: z.string().min(1).max(200),
    ...money,
  }),
  'payments.cmd.capture': orderId,
  'payments.cmd.void': orderId,
  'payments.cmd.refund': orderId,
  // payments → orders
  'payments.evt.authorized': z.object({ v: z.literal(1), orderId: id, paymentId: id }),
  'payments.evt.declined': z.object({ v: z.literal(1), orderId: id, paymentId: id, reason: z.string() }),
  'payments.evt.captured': orderId,
  'payments.evt.voided': orderId,
  'payments.evt.refunded': orderId,

  // orders → anyone (the gateway's subscriptions): published on `orders.evt.status.<orderId>`
  'orders.evt.status': z.object({
    v: z.literal(1),
    orderId: id,
    customerId: id,
    status: z.enum(ORDER_STATUSES),
    /** 1 for PENDING, +1 for every change: subscribers drop anything not newer than they have. */
    sequence: z.number().int().positive(),
    reason: z.string().nullable(),
    at: z.iso.datetime(),
    /**
     * The order as placed: on the PENDING event only (items and totals never change after it),
     * so a consumer that needs them keeps its own copy instead of asking orders.
     */
    order: orderSummary.optional(),
  }),
} as const;

export type Subject = keyof typeof contracts;
export type PayloadOf<S extends Subject> = z.infer<(typeof contracts)[S]>;

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

/** The contract subject a concrete subject belongs to (per-order subjects carry a suffix). */
export function contractSubjectOf(subject: string): Subject | undefined {
  if (subject in contracts) return subject as Subject;
  const parent = subject.slice(0, subject.lastIndexOf('.'));
  return parent in contracts ? (parent as Subject) : undefined;
}

export function validateMessage<S extends Subject>(subject: S, payload: unknown): PayloadOf<S> {
  const result = contracts[subject].safeParse(payload);
  if (!result.success) {
    throw new ContractViolation(`${subject}: ${z.prettifyError(result.error).replaceAll('\n', '; ')}`);
  }
  return result.data as PayloadOf<S>;
}
