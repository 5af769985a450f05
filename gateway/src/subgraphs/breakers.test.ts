import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createMetrics } from '../../../shared/observability/metrics.ts';
import { createGatewayMetrics } from '../metrics.ts';
import { createSubgraphBreakers } from './breakers.ts';

const settings = { failureThreshold: 1, windowMs: 10_000, cooldownMs: 60_000 };

function breakers() {
  const metrics = createMetrics('gateway-test');
  const registry: Registry = metrics.registry;
  return {
    registry,
    breakers: createSubgraphBreakers(createGatewayMetrics(metrics), pino({ level: 'silent' })),
  };
}

describe('the breakers of subgraph instances', () => {
  it('reports a subgraph with one instance by its breaker alone, as before', () => {
    const { breakers: all } = breakers();
    all.breakerFor('users', 'users:4001', settings);
    expect(all.snapshot()).toEqual({ users: { state: 'closed', failures: 0 } });
  });

  it('reports a subgraph with several by its best state, and each instance by host:port', async () => {
    const { breakers: all, registry } = breakers();
    const a = all.breakerFor('orders', 'orders-a:4004', settings);
    all.breakerFor('orders', 'orders-b:4004', settings);
    expect(all.breakerFor('orders', 'orders-a:4004', settings)).toBe(a);
    a.attempt()!.failed();
    expect(all.snapshot().orders).toMatchObject({
      state: 'closed',
      failures: 1,
      instances: {
        'orders-a:4004': { state: 'open', failures: 1 },
        'orders-b:4004': { state: 'closed', failures: 0 },
      },
    });
    const metrics = await registry.metrics();
    const value = (name: string, instance: string) =>
      new RegExp(`^${name}\\{subgraph="orders",instance="${instance}"[^}]*\\} (\\d+)$`, 'm').exec(
        metrics,
      )?.[1];
    expect(value('gateway_subgraph_breaker_state', 'orders-a:4004')).toBe('2');
    expect(value('gateway_subgraph_breaker_state', 'orders-b:4004')).toBe('0');
    expect(value('gateway_subgraph_breaker_opened_total', 'orders-a:4004')).toBe('1');
  });

  it('says the subgraph is open only when every instance is, with the soonest retry', () => {
    const { breakers: all } = breakers();
    for (const instance of ['orders-a:4004', 'orders-b:4004'])
      all.breakerFor('orders', instance, settings).attempt()!.failed();
    const snapshot = all.snapshot().orders!;
    expect(snapshot.state).toBe('open');
    expect(snapshot.retryInMs).toBeGreaterThan(0);
  });
});
