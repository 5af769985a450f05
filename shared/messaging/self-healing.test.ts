import { describe, expect, it } from '@jest/globals';
import { JetStreamApiError, JetStreamError, type ConsumerInfo } from '@nats-io/jetstream';
import { isVanished, stalledCheck } from './self-healing.ts';
import { restartFrom } from './consumer-healing.ts';

const apiError = (err_code: number, code = 404) =>
  new JetStreamApiError({ code, err_code, description: `error ${err_code}` });

describe('isVanished', () => {
  it('is true when JetStream says the consumer or the stream does not exist', () => {
    expect(isVanished(apiError(10014))).toBe(true);
    expect(isVanished(apiError(10059))).toBe(true);
  });

  it('is false for anything else, e.g. JetStream not ready or a pull that timed out', () => {
    expect(isVanished(apiError(10008, 503))).toBe(false);
    expect(isVanished(new JetStreamError('heartbeats missed'))).toBe(false);
    expect(isVanished(new Error('consumer not found'))).toBe(false);
  });
});

describe('stalledCheck', () => {
  it('passes until the trouble is older than the threshold, and again once it is over', async () => {
    let since: number | undefined;
    const check = stalledCheck('consumer:x', 'pulling', () => since, 30_000);
    await expect(check.check()).resolves.toBeUndefined();
    since = Date.now() - 10_000;
    await expect(check.check()).resolves.toBeUndefined();
    since = Date.now() - 42_000;
    await expect(check.check()).rejects.toThrow('not pulling for 42 s');
    since = undefined;
    await expect(check.check()).resolves.toBeUndefined();
  });
});

describe('restartFrom', () => {
  const streamCreated = '2026-01-01T10:00:00.123456789Z';
  const jsm = { streams: { info: (_name: string) => Promise.resolve({ created: streamCreated }) } };
  const seen = (info: {
    created?: string;
    acked?: [consumer: number, stream: number];
    delivered?: [consumer: number, stream: number];
  }) => {
    const [ackConsumer, ackStream] = info.acked ?? [0, 0];
    const [deliveredConsumer, deliveredStream] = info.delivered ?? [0, 0];
    return {
      created: info.created ?? '2026-01-01T11:00:00.5Z',
      ack_floor: { consumer_seq: ackConsumer, stream_seq: ackStream },
      delivered: { consumer_seq: deliveredConsumer, stream_seq: deliveredStream },
    } as ConsumerInfo;
  };
  const from = (last: ConsumerInfo | undefined) =>
    restartFrom(jsm as unknown as Parameters<typeof restartFrom>[0], 'S', last);

  it('starts after the last acknowledgement seen', async () => {
    expect(await from(seen({ acked: [7, 120], delivered: [9, 130] }))).toBe(121);
  });

  it('starts where a consumer that took nothing yet began (a new-messages consumer: after the last)', async () => {
    expect(await from(seen({ delivered: [0, 57] }))).toBe(58);
    expect(await from(seen({ delivered: [0, 0] }))).toBe(1);
  });

  it('starts at the beginning when something was delivered and nothing acknowledged', async () => {
    expect(await from(seen({ delivered: [3, 57] }))).toBe(1);
  });

  it('starts at the beginning of a stream made after the consumer seen (deleted with it, or wiped)', async () => {
    expect(await from(seen({ created: '2026-01-01T09:00:00Z', acked: [7, 120] }))).toBe(1);
  });

  it('starts as declared when the consumer was never seen', async () => {
    expect(await from(undefined)).toBeUndefined();
  });
});
