import { describe, expect, it } from '@jest/globals';
import { escapeHtml, formatMoney, oneLine } from '../src/templates/format.ts';
import { reasonInWords, renderOrderMessage } from '../src/templates/order-status.ts';
import { renderLowStockMessage } from '../src/templates/low-stock.ts';

const ORDER_ID = '0b6a3f52-1111-4222-8333-444455556666';
const order = {
  items: [
    { productId: 'p1', name: 'Tea <b>pot</b>', quantity: 2, unitPriceCents: 1250 },
    { productId: 'p2', name: 'Cup & saucer', quantity: 1, unitPriceCents: 499 },
  ],
  amountCents: 2999,
  currency: 'USD',
};

describe('formatting', () => {
  it('writes money in the currency’s own minor units', () => {
    expect(formatMoney(2999, 'USD')).toBe('$29.99');
    expect(formatMoney(1500, 'JPY')).toBe('¥1,500');
    expect(formatMoney(0, 'EUR')).toBe('€0.00');
  });

  it('escapes text for HTML and keeps header values on one line', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(oneLine('Low stock:\r\nBcc: someone')).toBe('Low stock: Bcc: someone');
  });
});

describe('order emails', () => {
  it('list the items and the total in text and HTML, names escaped in HTML only', () => {
    const message = renderOrderMessage({
      status: 'CONFIRMED',
      customerName: 'Ann <3',
      orderId: ORDER_ID,
      order,
      reason: null,
    });
    expect(message.subject).toBe('Your order 0b6a3f52 is confirmed');
    expect(message.text).toContain('Hello Ann <3,');
    expect(message.text).toContain('2 x Tea <b>pot</b>  $25.00');
    expect(message.text).toContain('1 x Cup & saucer  $4.99');
    expect(message.text).toContain('Total: $29.99');
    expect(message.html).toContain('Tea &lt;b&gt;pot&lt;/b&gt;');
    expect(message.html).toContain('Cup &amp; saucer');
    expect(message.html).toContain('Hello Ann &lt;3,');
    expect(message.html).not.toContain('<b>pot');
  });

  it('say why an order was cancelled, in words', () => {
    const message = renderOrderMessage({
      status: 'CANCELLED',
      customerName: 'Ann',
      orderId: ORDER_ID,
      order,
      reason: 'OUT_OF_STOCK',
    });
    expect(message.subject).toBe('Your order 0b6a3f52 was cancelled');
    expect(message.text).toContain('because some of the items were out of stock');
    expect(reasonInWords('PAYMENT_DECLINED')).toBe('your payment was declined');
    expect(reasonInWords('SOMETHING_NEW')).toBe('it could not be completed');
    expect(reasonInWords(null)).toBe('it could not be completed');
  });

  it('have a subject for every status they are sent for, and do without the items when unknown', () => {
    const subjects = (['CONFIRMED', 'CANCELLED', 'SHIPPED', 'DELIVERED'] as const).map(
      (status) =>
        renderOrderMessage({ status, customerName: 'Ann', orderId: ORDER_ID, order: null, reason: null })
          .subject,
    );
    expect(new Set(subjects).size).toBe(4);
    const bare = renderOrderMessage({
      status: 'SHIPPED',
      customerName: 'Ann',
      orderId: ORDER_ID,
      order: null,
      reason: null,
    });
    expect(bare.text).toContain(`Order: ${ORDER_ID}`);
    expect(bare.text).not.toContain('Total');
  });
});

describe('low-stock alerts', () => {
  it('name the product (or its id while its name is unknown) and what is left', () => {
    const known = renderLowStockMessage({
      adminName: 'Ada',
      productId: 'p1',
      productName: 'Teapot',
      available: 3,
      threshold: 5,
    });
    expect(known.subject).toBe('Low stock: Teapot (3 left)');
    expect(known.text).toContain('fell below 5: 3 can be sold now');
    const unknown = renderLowStockMessage({
      adminName: 'Ada',
      productId: 'p1',
      productName: null,
      available: 0,
      threshold: 5,
    });
    expect(unknown.subject).toBe('Low stock: product p1 (0 left)');
  });
});
