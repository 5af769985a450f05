// What every template needs: money in words a reader knows, and text made safe inside HTML.

/** An amount in minor units as the currency writes it, e.g. 1999 USD → "$19.99". */
export function formatMoney(amountCents: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountCents / 10 ** digits);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text (a user's or a product's name) as HTML that shows it and nothing more. Five characters
 * cover every context these templates put text in (element content and quoted attributes), so
 * no template engine is brought in for them.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** One line of a header field: no line breaks (they would start a new header). */
export function oneLine(text: string, max = 200): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .trim()
    .slice(0, max);
}
