// Where emails go: an SMTP server (SMTP_URL, through nodemailer's connection pool), or, with no
// SMTP_URL (the zero-config default), `.eml` files in a folder, one per notification, named by
// its id (a resend after a crash rewrites the same file).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type { Logger } from '../../../../shared/logger.ts';
import type { Notification } from '../domain/entities.ts';

/** The domain of every Message-ID this service writes. */
export const MESSAGE_ID_DOMAIN = 'notifications.order-supergraph';

/**
 * A notification's Message-ID: derived from its record alone, so every attempt at sending it,
 * after a crash too, carries the same one and a receiver can recognise a resend.
 */
export function messageId(notificationId: string): string {
  return `<${notificationId}@${MESSAGE_ID_DOMAIN}>`;
}

/** A failure that sending the same message again would meet again (an SMTP 5xx reply). */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
}

export interface Mailer {
  /** Resolves once the server (or the file) has the message; rejects with why not. */
  send(notification: Notification): Promise<void>;
  close(): void;
}

export interface MailerOptions {
  /** e.g. smtp://mailpit:1025; none: write `.eml` files to `mailDir`. */
  readonly smtpUrl: string | undefined;
  readonly mailDir: string;
  /** The From address, e.g. `Order Supergraph <orders@example.com>`. */
  readonly from: string;
  readonly logger: Logger;
  /** Bounds connecting and each wait for the server, so a stalled server cannot hold a send. */
  readonly timeoutMs?: number;
}

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl ? smtpMailer(options, options.smtpUrl) : fileMailer(options);
}

/** The message of a notification, as nodemailer composes it. */
function messageOf(notification: Notification, from: string) {
  return {
    from,
    to: notification.recipient,
    subject: notification.subject,
    text: notification.bodyText,
    html: notification.bodyHtml,
    messageId: messageId(notification.id),
    date: notification.createdAt,
    headers: {
      'X-Notification-Template': notification.template,
      ...(notification.orderId ? { 'X-Order-Id': notification.orderId } : {}),
    },
  };
}

function smtpMailer(options: MailerOptions, smtpUrl: string): Mailer {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    // As many as the delivery worker sends at once (its batches in flight × their size).
    maxConnections: 8,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 2,
  });
  options.logger.info({ smtp: redactUrl(smtpUrl) }, 'emails are sent through SMTP');
  return {
    async send(notification) {
      try {
        await transport.sendMail(messageOf(notification, options.from));
      } catch (err) {
        // nodemailer says `permanent` when the server's reply refuses the message for good; a
        // refused recipient (our only one) comes as an envelope error holding that reply.
        const error = err as NodemailerError;
        const reply = error.rejectedErrors?.[0] ?? error;
        if (reply.permanent === true) {
          throw new PermanentDeliveryError(describeSmtpError(reply), { cause: err });
        }
        throw new Error(describeSmtpError(reply), { cause: err });
      }
    },
    close: () => transport.close(),
  };
}

function fileMailer(options: MailerOptions): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  options.logger.info(
    { mailDir: options.mailDir },
    `SMTP_URL is not set: emails are written as .eml files to ${options.mailDir}`,
  );
  let made: Promise<unknown> | undefined;
  return {
    async send(notification) {
      const info = await transport.sendMail(messageOf(notification, options.from));
      made ??= mkdir(options.mailDir, { recursive: true });
      await made;
      await writeFile(path.join(options.mailDir, `${notification.id}.eml`), info.message as Buffer);
    },
    close: () => transport.close(),
  };
}

/** The server's reply (code and text) or the connection's error, without credentials. */
function describeSmtpError(error: NodemailerError): string {
  const reply = error.response?.replace(/[\r\n]+/g, ' ').slice(0, 300);
  if (error.responseCode) return `SMTP ${error.responseCode}: ${reply ?? error.message}`;
  return `${error.code ?? 'SMTP error'}: ${error.message}`.slice(0, 300);
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an SMTP URL';
  }
}
