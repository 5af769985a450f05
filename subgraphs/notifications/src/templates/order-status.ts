// The emails a customer gets about an order: confirmed, cancelled (with the reason in words),
// shipped, delivered. Each lists the order's items and total as placed, in plain text and HTML.
import type { PlacedItem } from '../domain/entities.ts';
import { escapeHtml, formatMoney } from './format.ts';
import { composeMessage, type RenderedMessage } from './message.ts';

export const ORDER_TEMPLATES = {
  CONFIRMED: 'ORDER_CONFIRMED',
  CANCELLED: 'ORDER_CANCELLED',
  SHIPPED: 'ORDER_SHIPPED',
  DELIVERED: 'ORDER_DELIVERED',
} as const;
export type NotifiedStatus = keyof typeof ORDER_TEMPLATES;
export type OrderTemplate = (typeof ORDER_TEMPLATES)[NotifiedStatus];

export function isNotifiedStatus(status: string): status is NotifiedStatus {
  return status in ORDER_TEMPLATES;
}

export interface OrderMessageInput {
  readonly status: NotifiedStatus;
  readonly customerName: string;
  readonly orderId: string;
  /** The order as placed; null when notifications never saw it placed (it then says less). */
  readonly order: {
    readonly items: readonly PlacedItem[];
    readonly amountCents: number;
    readonly currency: string;
  } | null;
  /** The order's failureReason, for CANCELLED. */
  readonly reason: string | null;
}

/** failureReason codes (API.md: Order.failureReason) as a customer reads them. */
const REASONS: Record<string, string> = {
  OUT_OF_STOCK: 'some of the items were out of stock',
  PAYMENT_DECLINED: 'your payment was declined',
  PAYMENT_FAILED: 'your payment could not be processed',
  UNKNOWN_PAYMENT_METHOD: 'the payment method was not recognised',
  CANCELLED_BY_CUSTOMER: 'you cancelled it',
  CANCELLED_BY_ADMIN: 'it was cancelled by our staff',
  TIMEOUT: 'it could not be processed in time',
  PROCESSING_FAILED: 'it could not be processed',
};

export function reasonInWords(reason: string | null): string {
  return (reason && REASONS[reason]) ?? 'it could not be completed';
}

/** A short order number for subjects: the first block of its id. */
const shortId = (orderId: string) => orderId.slice(0, 8);

function headline(input: OrderMessageInput): { subject: string; lead: string } {
  const number = shortId(input.orderId);
  switch (input.status) {
    case 'CONFIRMED':
      return {
        subject: `Your order ${number} is confirmed`,
        lead: 'Thank you for your order. Payment is taken and your items are set aside for you.',
      };
    case 'CANCELLED':
      return {
        subject: `Your order ${number} was cancelled`,
        lead: `We are sorry: your order was cancelled because ${reasonInWords(input.reason)}. Nothing was charged, or any charge has been refunded.`,
      };
    case 'SHIPPED':
      return { subject: `Your order ${number} is on its way`, lead: 'Your order has been shipped.' };
    case 'DELIVERED':
      return {
        subject: `Your order ${number} was delivered`,
        lead: 'Your order has been delivered. We hope you enjoy it.',
      };
  }
}

export function renderOrderMessage(input: OrderMessageInput): RenderedMessage {
  const { subject, lead } = headline(input);
  const { order } = input;
  const lines = order
    ? order.items.map((item) => ({
        name: item.name,
        quantity: item.quantity,
        subtotal: formatMoney(item.unitPriceCents * item.quantity, order.currency),
      }))
    : [];
  const total = order ? formatMoney(order.amountCents, order.currency) : null;

  const rows = lines
    .map(
      (l) =>
        `<tr><td>${l.quantity} &times; ${escapeHtml(l.name)}</td><td style="text-align: right;">${escapeHtml(l.subtotal)}</td></tr>`,
    )
    .join('\n');
  return composeMessage({
    subject,
    name: input.customerName,
    lead,
    textDetails: [
      `Order: ${input.orderId}`,
      ...lines.map((l) => `  ${l.quantity} x ${l.name}  ${l.subtotal}`),
      ...(total ? [`Total: ${total}`] : []),
    ],
    htmlDetails: [
      `<p>Order: <code>${escapeHtml(input.orderId)}</code></p>`,
      ...(order
        ? [
            '<table cellpadding="4" style="border-collapse: collapse;">',
            rows,
            `<tr><th style="text-align: left;">Total</th><th style="text-align: right;">${escapeHtml(total!)}</th></tr>`,
            '</table>',
          ]
        : []),
    ],
  });
}
