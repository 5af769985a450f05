import { describe, expect, it } from '@jest/globals';
import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/nats-core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { pino } from 'pino';
import { isTransient, provisionPatiently } from './provisioning.ts';

const apiError = (err_code: number, code = 503) =>
  new JetStreamApiError({ code, err_code, description: `error ${err_code}` });

describe('isTransient', () => {
  it('is true for what passes once the cluster has a leader again', () => {
    expect(isTransient(new TimeoutError())).toBe(true);
    expect(
      isTransient(new RequestError('no responders', { cause: new NoRespondersError('$JS.API.INFO') })),
    ).toBe(true);
    expect(isTransient(apiError(10008))).toBe(true);
  });

  it('is false for a refusal that asking again does not change', () => {
    expect(isTransient(apiError(10059, 404))).toBe(false);
    expect(isTransient(new Error('Permissions Violation for Publish'))).toBe(false);
    expect(isTransient(undefined)).toBe(false);
  });
});

describe('provisionPatiently', () => {
  const logger = pino({ level: 'silent' });

  it('asks again after a transient failure', async () => {
    let calls = 0;
    const result = await provisionPatiently(
      'test',
      async () => {
        calls += 1;
        if (calls < 3) throw new TimeoutError();
        return 'done';
      },
      logger,
    );
    expect({ result, calls }).toEqual({ result: 'done', calls: 3 });
  });

  it('fails at once for anything else', async () => {
    let calls = 0;
    const refused = apiError(10059, 404);
    const attempt = provisionPatiently(
      'test',
      async () => {
        calls += 1;
        throw refused;
      },
      logger,
    );
    await expect(attempt).rejects.toBe(refused);
    expect(calls).toBe(1);
  });
});
