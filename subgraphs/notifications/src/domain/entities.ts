// The tables of the notifications database, described once (migrations/ creates them).
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ROLES } from '../../../../shared/auth/identity.ts';

export const NOTIFICATION_STATUSES = ['PENDING', 'SENT', 'FAILED', 'SKIPPED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export const TEMPLATES = [
  'ORDER_CONFIRMED',
  'ORDER_CANCELLED',
  'ORDER_SHIPPED',
  'ORDER_DELIVERED',
  'LOW_STOCK',
] as const;
export type Template = (typeof TEMPLATES)[number];

/**
 * One message sent (or skipped) to one user, rendered when it was recorded: a resend after a
 * crash is the same message, with the same Message-ID (delivery/mailer.ts messageId).
 */
export const Notification = defineEntity({
  name: 'Notification',
  tableName: 'notifications',
  properties: {
    id: p.uuid().primary(),
    /** What it is about, once: e.g. `ORDER_CONFIRMED:<orderId>`. */
    dedupeKey: p.string().unique(),
    userId: p.uuid(),
    channel: p.enum(['EMAIL']),
    template: p.enum([...TEMPLATES]),
    orderId: p.uuid().nullable(),
    productId: p.uuid().nullable(),
    status: p.enum([...NOTIFICATION_STATUSES]),
    /** Delivery attempts made so far. */
    attempts: p.integer(),
    /** The address it was (or is to be) sent to, as the user had it then. */
    recipient: p.string(),
    subject: p.string(),
    bodyText: p.text(),
    bodyHtml: p.text(),
    createdAt: p.datetime(),
    /** A PENDING one is not tried again before this. */
    nextAttemptAt: p.datetime(),
    sentAt: p.datetime().nullable(),
    /** Why it FAILED; for a PENDING one, why the last attempt failed. */
    failureReason: p.string().nullable(),
  },
});
export type Notification = InferEntity<typeof Notification>;

export const NotificationPreference = defineEntity({
  name: 'NotificationPreference',
  tableName: 'notification_preferences',
  properties: {
    userId: p.uuid().primary(),
    /** Emails wanted (named apart from user_copies.email: a store maps a column name one way). */
    emailEnabled: p.boolean(),
    updatedAt: p.datetime(),
  },
});
export type NotificationPreference = InferEntity<typeof NotificationPreference>;

/** What notifications knows of a user, from users' events: where to write, and who is ADMIN. */
export const UserCopy = defineEntity({
  name: 'UserCopy',
  tableName: 'user_copies',
  properties: {
    userId: p.uuid().primary(),
    email: p.string(),
    name: p.string(),
    role: p.enum([...ROLES]),
    revision: p.integer(),
  },
});
export type UserCopy = InferEntity<typeof UserCopy>;

export const ProductName = defineEntity({
  name: 'ProductName',
  tableName: 'product_names',
  properties: {
    productId: p.uuid().primary(),
    name: p.string(),
    revision: p.integer(),
  },
});
export type ProductName = InferEntity<typeof ProductName>;

export interface PlacedItem {
  readonly productId: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

/** The order as placed, from its PENDING status event. */
export const PlacedOrder = defineEntity({
  name: 'PlacedOrder',
  tableName: 'placed_orders',
  properties: {
    orderId: p.uuid().primary(),
    customerId: p.uuid(),
    amountCents: p.integer(),
    currency: p.string().length(3),
    items: p.json<PlacedItem[]>(),
  },
});
export type PlacedOrder = InferEntity<typeof PlacedOrder>;

export const entities = [Notification, NotificationPreference, UserCopy, ProductName, PlacedOrder];
