// A real SMTP server for tests and benchmarks (the `smtp-server` library on a free port): it
// keeps every message it accepts, and can be told to refuse the next attempts (a transient
// 451, as a busy server answers) or to reject a recipient for good (550). Tests await what it
// received instead of sleeping.
//
//   const sink = await SmtpSink.start();
//   try { ... SMTP_URL: sink.url ... await sink.until((m) => m.length === 1, 'one email') }
//   finally { await sink.stop(); }
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Waiters } from './waiters.ts';

export interface ReceivedMail {
  /** Header names lower-cased, folded lines joined. */
  readonly headers: ReadonlyMap<string, string>;
  readonly messageId: string | undefined;
  readonly to: readonly string[];
  readonly subject: string | undefined;
  /** The whole message as it came (headers and MIME body). */
  readonly raw: string;
  /** `raw` with quoted-printable parts decoded: the text as a reader sees it. */
  readonly decoded: string;
  /** When the server accepted it (Date.now()). */
  readonly acceptedAt: number;
}

class SmtpReply extends Error {
  readonly responseCode: number;
  constructor(code: number, message: string) {
    super(message);
    this.responseCode = code;
  }
}

export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  /** Every message that reached DATA, refused ones too. */
  attempts = 0;
  /** Connections that failed, e.g. reset by a client that was killed mid-message. */
  connectionErrors = 0;
  private refusals = 0;
  private readonly rejected = new Set<string>();
  private readonly waiters = new Waiters();
  private readonly server: SMTPServer;
  readonly url: string;

  private constructor(server: SMTPServer, port: number) {
    this.server = server;
    this.url = `smtp://127.0.0.1:${port}`;
  }

  static async start(): Promise<SmtpSink> {
    // The server's callbacks need the sink, which needs the listening server's port.
    const ref: { sink?: SmtpSink } = {};
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      size: 10 * 1024 * 1024,
      onRcptTo(address, _session, callback) {
        if (ref.sink!.rejected.has(address.address.toLowerCase())) {
          callback(new SmtpReply(550, 'No such user here'));
          return;
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const self = ref.sink!;
          self.attempts += 1;
          if (self.refusals > 0) {
            self.refusals -= 1;
            callback(new SmtpReply(451, 'Try again later'));
            self.wake();
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers = parseHeaders(raw);
          self.received.push({
            headers,
            messageId: headers.get('message-id'),
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: headers.get('subject'),
            raw,
            decoded: decodeQuotedPrintable(raw),
            acceptedAt: Date.now(),
          });
          callback();
          self.wake();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    ref.sink = new SmtpSink(server, (server.server.address() as AddressInfo).port);
    // A client killed in the middle of a message (tests SIGKILL the notifications process)
    // resets its connection, and smtp-server reports that as an 'error' of the server; with no
    // listener it would end the test's process. A mail server carries on: so does the sink.
    server.on('error', () => {
      ref.sink!.connectionErrors += 1;
      ref.sink!.wake();
    });
    return ref.sink;
  }

  /** The next `count` messages are refused with a transient 451. */
  refuseNext(count: number): void {
    this.refusals = count;
  }

  /** Mail to this address is refused for good (550 on RCPT TO). */
  rejectRecipient(address: string): void {
    this.rejected.add(address.toLowerCase());
  }

  /** The messages sent to `address`. */
  to(address: string): ReceivedMail[] {
    const wanted = address.toLowerCase();
    return this.received.filter((m) => m.to.some((t) => t.toLowerCase() === wanted));
  }

  /** Resolves once `check` holds (checked on every message, refusal and connection error). */
  until(check: (sink: SmtpSink) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    return this.waiters.until(
      () => check(this),
      () => {
        const got = this.received.map((m) => `${m.to.join(',')}: ${m.subject}`);
        return new Error(`${what} did not happen; received ${JSON.stringify(got)}`);
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wake(): void {
    this.waiters.wake();
  }
}

/** The header block of a message: names lower-cased, folded lines unfolded. */
export function parseHeaders(raw: string): Map<string, string> {
  const end = raw.search(/\r?\n\r?\n/);
  const block = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** Quoted-printable (RFC 2045) undone: soft line breaks joined, `=XX` back to its byte. */
export function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes = Buffer.from(
    joined.replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
  return bytes.toString('utf8');
}
