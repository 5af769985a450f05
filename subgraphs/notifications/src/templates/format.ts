// What every template needs: money in words a reader knows, and text made safe inside HTML.

/**
 * One formatter per currency, with its number of minor digits: building an Intl.NumberFormat
 * loads locale data and costs far more than formatting with it, and every line of every email
 * formats an amount. Capped all the same: a currency code comes from an event.
 */
interface MoneyFormat {
  readonly format: Intl.NumberFormat;
  /** 10 to the power of the currency's minor digits (100 for USD, 1 for JPY). */
  readonly divisor: number;
}
const formats = new Map<string, MoneyFormat>();
const MAX_FORMATS = 64;

function moneyFormat(currency: string): MoneyFormat {
  let entry = formats.get(currency);
  if (!entry) {
    const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    entry = { format, divisor: 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2) };
    if (formats.size < MAX_FORMATS) formats.set(currency, entry);
  }
  return entry;
}

/** An amount in minor units as the currency writes it, e.g. 1999 USD → "$19.99". */
export function formatMoney(amountCents: number, currency: string): string {
  const { format, divisor } = moneyFormat(currency);
  return format.format(amountCents / divisor);
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
