import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../config.ts';
import { readTracingConfig, traceIdOf } from './tracing.ts';

describe('readTracingConfig', () => {
  it('exports nothing without an endpoint', () => {
    expect(readTracingConfig({})).toEqual({
      tracesUrl: undefined,
      scheduleDelayMs: 5000,
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
    });
  });

  it('appends the traces path to the base endpoint, and takes the traces endpoint as it is', () => {
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracesUrl).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      readTracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
      }).tracesUrl,
    ).toBe('https://traces.example/otlp');
  });

  it('refuses what it cannot honour', () => {
    expect(() => readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
    expect(() => readTracingConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).toThrow(/http\/json/);
    expect(() => readTracingConfig({ OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toThrow(ConfigError);
    expect(() =>
      readTracingConfig({ OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' }),
    ).toThrow(ConfigError);
  });
});

describe('traceIdOf', () => {
  it('reads the trace id of a well-formed traceparent, and nothing else', () => {
    expect(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(traceIdOf('garbage')).toBeUndefined();
    expect(traceIdOf(undefined)).toBeUndefined();
  });
});
