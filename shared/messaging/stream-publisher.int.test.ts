// JetStream publishes with their acknowledgements on one subscription (stream-publisher.ts),
// against a real NATS server: stored once per Nats-Msg-Id, refused when no stream takes the
// subject, failed when nothing answers in time.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { randomUUID } from 'node:crypto';
import { DEFAULT_NATS_URL } from '../../scripts/lib/services.ts';
import { connectNats, type NatsConnection } from './nats.ts';
import { StreamPublisher, StreamPublishError, streamPublisherFor } from './stream-publisher.ts';

const id = `sp${randomUUID().slice(0, 8)}`;
const stream = `${id}_STREAM`;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats(
    process.env.NATS_URL ?? DEFAULT_NATS_URL,
    'stream-publisher-test',
    pino({ level: 'silent' }),
  );
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${id}.>`], duplicate_window: 60_000_000_000 });
});

afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(stream);
  await nc.close();
});

describe('StreamPublisher', () => {
  it('resolves once stored, with the headers given, and stores a repeated Nats-Msg-Id once', async () => {
    const publisher = streamPublisherFor(nc);
    expect(streamPublisherFor(nc)).toBe(publisher);
    const msgId = randomUUID();
    const message = { subject: `${id}.a`, payload: '{"v":1}', msgId, headers: { traceparent: 'tp' } };
    await Promise.all([
      publisher.publish(message),
      publisher.publish({ subject: `${id}.b`, payload: '2', msgId: randomUUID() }),
    ]);
    await publisher.publish(message);

    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.messages).toBe(2);
    const stored = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(stored?.subject).toBe(`${id}.a`);
    expect(stored?.string()).toBe('{"v":1}');
    expect(stored?.header.get('Nats-Msg-Id')).toBe(msgId);
    expect(stored?.header.get('traceparent')).toBe('tp');
  });

  it('rejects a publish no stream takes, saying the stream may be missing', async () => {
    const publishing = streamPublisherFor(nc).publish({
      subject: `${id}-nostream.x`,
      payload: '1',
      msgId: randomUUID(),
    });
    await expect(publishing).rejects.toThrow(StreamPublishError);
    await expect(publishing).rejects.toMatchObject({ streamMayBeMissing: true });
  });

  it('rejects a publish whose acknowledgement does not come in time', async () => {
    // A plain subscriber on the subject: the publish reaches it, and nothing acknowledges.
    const silent = nc.subscribe(`${id}-silent`);
    await nc.flush();
    const publisher = new StreamPublisher(nc, 200);
    try {
      await expect(
        publisher.publish({ subject: `${id}-silent`, payload: '1', msgId: randomUUID() }),
      ).rejects.toMatchObject({
        message: expect.stringMatching(/no acknowledgement/),
        streamMayBeMissing: true,
      });
    } finally {
      silent.unsubscribe();
    }
  });
});
