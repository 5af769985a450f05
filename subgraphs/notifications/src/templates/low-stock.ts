// The alert every administrator gets when a product's available stock falls below the threshold.
import { escapeHtml } from './format.ts';
import { htmlPage, type RenderedMessage } from './message.ts';

export interface LowStockInput {
  readonly adminName: string;
  readonly productId: string;
  /** Null when notifications has not seen the product's name yet. */
  readonly productName: string | null;
  readonly available: number;
  readonly threshold: number;
}

export function renderLowStockMessage(input: LowStockInput): RenderedMessage {
  const product = input.productName ?? `product ${input.productId}`;
  const subject = `Low stock: ${product} (${input.available} left)`;
  const lead = `Available stock of ${product} fell below ${input.threshold}: ${input.available} can be sold now.`;
  const text = [
    `Hello ${input.adminName},`,
    '',
    lead,
    '',
    `Product: ${input.productId}`,
    'Restock it with the setStock mutation.',
    '',
    'Order Supergraph',
    '',
  ].join('\n');
  const html = htmlPage(
    subject,
    [
      `<p>Hello ${escapeHtml(input.adminName)},</p>`,
      `<p>${escapeHtml(lead)}</p>`,
      `<p>Product: <code>${escapeHtml(input.productId)}</code></p>`,
      '<p>Restock it with the <code>setStock</code> mutation.</p>',
    ].join('\n'),
  );
  return { subject, text, html };
}
