// A rendered message, the frame every message sits in (greeting, lead, sign-off) and the page
// every HTML message sits in.
import { escapeHtml } from './format.ts';

export interface RenderedMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Wraps HTML body parts (already escaped) in a minimal, mail-client-safe page. */
export function htmlPage(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family: sans-serif; line-height: 1.4; color: #222;">',
    body,
    '<p style="color: #777; font-size: 12px;">You get this email because of your account at Order Supergraph. ',
    'You can turn these emails off in your notification preferences.</p>',
    '</body></html>',
  ].join('\n');
}

/**
 * A message to `name`: its greeting and lead, then the details (plain-text lines, and HTML parts
 * already escaped), in the frame every message shares.
 */
export function composeMessage(parts: {
  readonly subject: string;
  readonly name: string;
  readonly lead: string;
  readonly textDetails: readonly string[];
  readonly htmlDetails: readonly string[];
}): RenderedMessage {
  const { subject, name, lead } = parts;
  const text = [`Hello ${name},`, '', lead, '', ...parts.textDetails, '', 'Order Supergraph', ''].join('\n');
  const html = htmlPage(
    subject,
    [`<p>Hello ${escapeHtml(name)},</p>`, `<p>${escapeHtml(lead)}</p>`, ...parts.htmlDetails].join('\n'),
  );
  return { subject, text, html };
}
