// The alert every administrator gets when a product's available stock falls below the threshold.
import { escapeHtml } from './format.ts';
import { composeMessage, type RenderedMessage } from './message.ts';

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
  return composeMessage({
    subject,
    name: input.adminName,
    lead,
    textDetails: [`Product: ${input.productId}`, 'Restock it with the setStock mutation.'],
    htmlDetails: [
      `<p>Product: <code>${escapeHtml(input.productId)}</code></p>`,
      '<p>Restock it with the <code>setStock</code> mutation.</p>',
    ],
  });
}
