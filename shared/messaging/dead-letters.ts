// The dead-letter stream: a message that cannot be handled (it breaks its contract, has no
// handler, or failed every delivery) is copied here with the reason, and taken off its consumer.
// Operators list and replay them with `npm run dlq`; orders ends the saga of each one.
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { qualify } from './topology.ts';

export const DLQ_HEADERS = {
  originalSubject: 'Dlq-Original-Subject',
  originalMessageId: 'Dlq-Original-Msg-Id',
  stream: 'Dlq-Stream',
  streamSequence: 'Dlq-Stream-Seq',
  consumer: 'Dlq-Consumer',
  deliveries: 'Dlq-Deliveries',
  error: 'Dlq-Error',
  at: 'Dlq-At',
} as const;

export interface DeadLetter {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly messageId?: string;
  readonly stream: string;
  readonly streamSequence: number;
  readonly consumer: string;
  readonly deliveries: number;
  readonly error: string;
}

export function deadLetterOf(msg: JsMsg, consumer: string, error: string): DeadLetter {
  return {
    subject: msg.subject,
    data: msg.data,
    messageId: msg.headers?.get('Nats-Msg-Id') || undefined,
    stream: msg.info.stream,
    streamSequence: msg.seq,
    consumer,
    deliveries: msg.info.deliveryCount,
    error,
  };
}

/** Publishes to `dlq.<consumer>`; de-duplicated by the original stream and sequence. */
export async function publishDeadLetter(
  js: JetStreamClient,
  namespace: string,
  letter: DeadLetter,
): Promise<void> {
  const h = natsHeaders();
  h.set(DLQ_HEADERS.originalSubject, letter.subject);
  if (letter.messageId) h.set(DLQ_HEADERS.originalMessageId, letter.messageId);
  h.set(DLQ_HEADERS.stream, letter.stream);
  h.set(DLQ_HEADERS.streamSequence, String(letter.streamSequence));
  h.set(DLQ_HEADERS.consumer, letter.consumer);
  h.set(DLQ_HEADERS.deliveries, String(letter.deliveries));
  // Headers are single-line; keep the reason short and printable.
  h.set(DLQ_HEADERS.error, letter.error.replace(/[\r\n]+/g, ' ').slice(0, 500));
  h.set(DLQ_HEADERS.at, new Date().toISOString());
  await js.publish(qualify(namespace, `dlq.${letter.consumer}`), letter.data, {
    msgID: `dlq:${letter.stream}:${letter.streamSequence}`,
    headers: h,
  });
}
