// The operator's view of the dead-letter stream (`npm run dlq`): list what is in it and replay
// one letter, i.e. publish its body again to the subject it came from, with a fresh
// Nats-Msg-Id (the original id is inside JetStream's duplicate window, and in the consumer's
// inbox when the failure came after a commit elsewhere), and delete it from the stream.
// A replayed message that fails again is dead-lettered again, under a new sequence.
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';
import { DLQ_HEADERS } from '../../shared/messaging/dead-letters.ts';
import { streamName, unqualify } from '../../shared/messaging/topology.ts';

export interface DeadLetterEntry {
  /** Sequence in the dead-letter stream: what `replay` takes. */
  readonly seq: number;
  readonly at: string;
  /** The subject the message was published to (namespace included). */
  readonly originalSubject: string;
  /** The same without the namespace, e.g. `payments.cmd.capture`. */
  readonly subject: string;
  readonly consumer: string;
  readonly error: string;
  readonly deliveries: number;
  readonly originalMessageId: string | undefined;
  /** Where it was in its own stream. */
  readonly origin: string;
  readonly payload: string;
}

export class DeadLetterNotFound extends Error {
  override name = 'DeadLetterNotFound';
}

interface Letter {
  readonly seq: number;
  readonly subject: string;
  readonly header: MsgHdrs | undefined;
  readonly data: Uint8Array;
  readonly time: Date;
}

function entryOf(namespace: string, msg: Letter): DeadLetterEntry {
  const h = (key: string) => msg.header?.get(key) || undefined;
  const originalSubject = h(DLQ_HEADERS.originalSubject) ?? msg.subject;
  return {
    seq: msg.seq,
    at: h(DLQ_HEADERS.at) ?? msg.time.toISOString(),
    originalSubject,
    subject: unqualify(namespace, originalSubject),
    consumer: h(DLQ_HEADERS.consumer) ?? '',
    error: h(DLQ_HEADERS.error) ?? '',
    deliveries: Number(h(DLQ_HEADERS.deliveries) ?? 0),
    originalMessageId: h(DLQ_HEADERS.originalMessageId),
    origin: `${h(DLQ_HEADERS.stream) ?? '?'}#${h(DLQ_HEADERS.streamSequence) ?? '?'}`,
    payload: new TextDecoder().decode(msg.data),
  };
}

/** Every dead letter of the namespace, oldest first. */
export async function listDeadLetters(
  nc: NatsConnection,
  namespace: string,
  limit = 1000,
): Promise<DeadLetterEntry[]> {
  const jsm = await jetstreamManager(nc);
  const stream = streamName(namespace, 'DEAD_LETTERS');
  const { state } = await jsm.streams.info(stream);
  const entries: DeadLetterEntry[] = [];
  if (state.messages === 0) return entries;
  // An ordered consumer of its own reads the stream without disturbing the durable ones, and
  // steps over the gaps replayed letters leave.
  const reader = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const batch = await reader.fetch({ max_messages: Math.min(limit, state.messages), expires: 5000 });
  for await (const m of batch) {
    entries.push(
      entryOf(namespace, {
        seq: m.seq,
        subject: m.subject,
        header: m.headers,
        data: m.data,
        time: new Date(m.timestamp),
      }),
    );
    if (m.info.pending === 0 || entries.length >= limit) break;
  }
  await reader.delete().catch(() => undefined);
  return entries;
}

/** Publishes the letter at `seq` to its original subject again and deletes it from the stream. */
export async function replayDeadLetter(
  nc: NatsConnection,
  namespace: string,
  seq: number,
): Promise<{ entry: DeadLetterEntry; messageId: string; streamSeq: number }> {
  const jsm = await jetstreamManager(nc);
  const stream = streamName(namespace, 'DEAD_LETTERS');
  const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
  if (!msg || msg.seq !== seq)
    throw new DeadLetterNotFound(`no dead letter with sequence ${seq} in ${stream}`);
  const entry = entryOf(namespace, { ...msg, header: msg.header, data: msg.data, time: msg.time });
  const h = natsHeaders();
  h.set('Dlq-Replayed-From', String(seq));
  if (entry.originalMessageId) h.set('Dlq-Replay-Of', entry.originalMessageId);
  const messageId = `replay:${randomUUID()}`;
  const ack = await jetstream(nc).publish(entry.originalSubject, msg.data, { msgID: messageId, headers: h });
  // Only after the republish is stored: a failure in between leaves the letter to replay again.
  await jsm.streams.deleteMessage(stream, seq, false);
  return { entry, messageId, streamSeq: ack.seq };
}

/** A fixed-width table for a terminal. */
export function formatDeadLetters(entries: readonly DeadLetterEntry[], payloadWidth = 60): string {
  if (entries.length === 0) return 'no dead letters';
  const rows = entries.map((e) => [
    String(e.seq),
    e.at,
    e.subject,
    e.consumer,
    String(e.deliveries),
    e.error.length > 80 ? `${e.error.slice(0, 79)}…` : e.error,
    e.payload.length > payloadWidth ? `${e.payload.slice(0, payloadWidth - 1)}…` : e.payload,
  ]);
  const head = ['seq', 'time', 'subject', 'consumer', 'deliveries', 'error', 'payload'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
