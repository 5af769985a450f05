// A rendered message and the page every HTML message sits in.
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
