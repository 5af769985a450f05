// The SMTP sink the notifications tests send to: a client that dies in the middle of a message
// must not end the test's process, and the sink must go on accepting mail.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import net from 'node:net';
import { once } from 'node:events';
import nodemailer from 'nodemailer';
import { SmtpSink } from './smtp-sink.ts';

let sink: SmtpSink;

beforeAll(async () => {
  sink = await SmtpSink.start();
});

afterAll(async () => {
  await sink?.stop();
});

/** Speaks SMTP up to the middle of a message's body, then resets the connection (as SIGKILL would). */
async function dieMidMessage(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let replies = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (replies += chunk));
  const reply = async (code: string): Promise<void> => {
    while (!new RegExp(`^${code} `, 'm').test(replies)) await once(socket, 'data');
    replies = '';
  };
  await reply('220');
  for (const [command, code] of [
    ['EHLO test', '250'],
    ['MAIL FROM:<shop@example.com>', '250'],
    ['RCPT TO:<customer@example.com>', '250'],
    ['DATA', '354'],
  ] as const) {
    socket.write(`${command}\r\n`);
    await reply(code);
  }
  socket.write('Subject: half a message\r\n\r\nThe first line of the body');
  socket.resetAndDestroy();
  await once(socket, 'close');
}

it('carries on when a client resets its connection in the middle of a message', async () => {
  await dieMidMessage(sink.url);
  await sink.until((s) => s.connectionErrors === 1, 'the reset connection');

  const transport = nodemailer.createTransport(sink.url);
  try {
    await transport.sendMail({
      from: 'shop@example.com',
      to: 'customer@example.com',
      subject: 'whole',
      text: 'ok',
    });
  } finally {
    transport.close();
  }
  expect(sink.to('customer@example.com').map((m) => m.subject)).toEqual(['whole']);
});
