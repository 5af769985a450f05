import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { CircuitBreaker } from './breaker.ts';
import { SubgraphInstances, instanceLabel, type SubgraphInstance } from './instances.ts';
import { SubgraphUnavailableError, sentNothing } from './unavailable.ts';

/** undici's fetch failing for want of a connection: a TypeError caused by the socket error. */
function fetchFailed(code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
}

function instances(count: number, failureThreshold = 2): SubgraphInstances {
  const now = 0;
  return new SubgraphInstances(
    'orders',
    Array.from({ length: count }, (_, i): SubgraphInstance => {
      const url = `http://10.0.0.${i + 1}:4004/graphql`;
      return {
        url,
        label: instanceLabel(url),
        breaker: new CircuitBreaker({
          failureThreshold,
          windowMs: 10_000,
          cooldownMs: 5_000,
          clock: () => now,
        }),
      };
    }),
  );
}

/** Sends to whichever instance `call` picks; `fails` says which hosts fail and how. */
function sender(fails: Record<string, unknown> = {}) {
  const sent: string[] = [];
  const send = async (instance: SubgraphInstance) => {
    sent.push(instance.label);
    const failure = fails[instance.label];
    if (failure) throw failure;
    return instance.label;
  };
  return { sent, send };
}

describe('instanceLabel', () => {
  it('is host:port, with the scheme default port when none is named', () => {
    expect(instanceLabel('http://orders-a:4004/graphql')).toBe('orders-a:4004');
    expect(instanceLabel('https://orders.internal/graphql')).toBe('orders.internal:443');
    expect(instanceLabel('http://orders.internal/graphql')).toBe('orders.internal:80');
  });
});

describe('sentNothing', () => {
  it('is true only for failures before a connection was made', () => {
    expect(sentNothing(fetchFailed('ECONNREFUSED'))).toBe(true);
    expect(sentNothing(fetchFailed('UND_ERR_CONNECT_TIMEOUT'))).toBe(true);
    expect(sentNothing(fetchFailed('ECONNRESET'))).toBe(false);
    expect(sentNothing(new TypeError('terminated'))).toBe(false);
    expect(sentNothing(undefined)).toBe(false);
  });
});

describe('SubgraphInstances', () => {
  it('spreads calls round robin', async () => {
    const pool = instances(3);
    const { sent, send } = sender();
    for (let i = 0; i < 6; i++) await pool.call(send, false);
    expect(sent).toEqual([
      '10.0.0.1:4004',
      '10.0.0.2:4004',
      '10.0.0.3:4004',
      '10.0.0.1:4004',
      '10.0.0.2:4004',
      '10.0.0.3:4004',
    ]);
  });

  it('sends a mutation refused by one instance to the next, and says so', async () => {
    const pool = instances(2);
    const { sent, send } = sender({ '10.0.0.1:4004': fetchFailed('ECONNREFUSED') });
    const failovers: string[] = [];
    await expect(pool.call(send, false, (i, reason) => failovers.push(`${i.label} ${reason}`))).resolves.toBe(
      '10.0.0.2:4004',
    );
    expect(sent).toEqual(['10.0.0.1:4004', '10.0.0.2:4004']);
    expect(failovers).toEqual(['10.0.0.1:4004 unreachable']);
  });

  it('never sends a mutation twice once it may have reached an instance', async () => {
    const pool = instances(2);
    const { sent, send } = sender({ '10.0.0.1:4004': fetchFailed('ECONNRESET') });
    const failed = pool.call(send, false);
    await expect(failed).rejects.toBeInstanceOf(SubgraphUnavailableError);
    await expect(failed).rejects.toMatchObject({ service: 'orders', reason: 'unreachable' });
    expect(sent).toEqual(['10.0.0.1:4004']);
  });

  it('sends a read on after a broken connection or a 503, but not after a timeout', async () => {
    const unavailable = new GraphQLError('503: x', { extensions: { response: { status: 503 } } });
    for (const failure of [fetchFailed('ECONNRESET'), unavailable]) {
      const { sent, send } = sender({ '10.0.0.1:4004': failure });
      await expect(instances(2).call(send, true)).resolves.toBe('10.0.0.2:4004');
      expect(sent).toHaveLength(2);
    }
    const timedOut = sender({ '10.0.0.1:4004': new DOMException('signal timed out', 'TimeoutError') });
    await expect(instances(2).call(timedOut.send, true)).rejects.toMatchObject({ reason: 'timeout' });
    expect(timedOut.sent).toEqual(['10.0.0.1:4004']);
  });

  it('passes an error answer through without counting it against the instance', async () => {
    const pool = instances(2, 1);
    const answer = new GraphQLError('400: bad request', { extensions: { response: { status: 400 } } });
    const { send } = sender({ '10.0.0.1:4004': answer });
    await expect(pool.call(send, true)).rejects.toBe(answer);
    expect(pool.instances[0]!.breaker.state).toBe('closed');
  });

  it('skips an instance whose breaker is open, and fails at once when every one is', async () => {
    const pool = instances(2, 2);
    const dead = sender({ '10.0.0.1:4004': fetchFailed('ECONNREFUSED') });
    // Two calls start at the dead instance (round robin); its second failure opens its breaker.
    for (let i = 0; i < 4; i++) await expect(pool.call(dead.send, false)).resolves.toBe('10.0.0.2:4004');
    expect(pool.instances[0]!.breaker.state).toBe('open');
    expect(dead.sent.filter((label) => label === '10.0.0.1:4004')).toHaveLength(2);

    const after = sender();
    for (let i = 0; i < 4; i++) await pool.call(after.send, false);
    expect(after.sent).toEqual(Array(4).fill('10.0.0.2:4004'));

    const allDead = sender({ '10.0.0.2:4004': fetchFailed('ECONNREFUSED') });
    for (let i = 0; i < 2; i++)
      await expect(pool.call(allDead.send, false)).rejects.toMatchObject({ reason: 'unreachable' });
    expect(pool.instances[1]!.breaker.state).toBe('open');
    const none = sender();
    await expect(pool.call(none.send, true)).rejects.toMatchObject({ reason: 'breaker-open' });
    expect(none.sent).toEqual([]);
  });

  it('refuses to route a subgraph with no instance', () => {
    expect(() => new SubgraphInstances('orders', [])).toThrow(/no instance/);
  });
});
