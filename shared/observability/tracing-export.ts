// The OpenTelemetry SDK, loaded only when spans are exported (tracing.ts, initTracing): a
// batching OTLP/HTTP exporter behind a parent-based tracer provider, with the AsyncLocalStorage
// context manager and the W3C propagator registered globally for this process.
import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../logger.ts';
import type { Tracing, TracingConfig } from './tracing.ts';

/** Registers the exporting provider; throws when tracing is already initialised here. */
export function startExport(
  service: string,
  config: TracingConfig & { readonly tracesUrl: string },
  logger?: Logger,
): Tracing {
  if (logger) {
    const log = logger.child({ component: 'opentelemetry' });
    diag.setLogger(
      {
        error: (message, ...args) => log.warn({ args }, message),
        warn: (message, ...args) => log.warn({ args }, message),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.WARN,
    );
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: service }),
    // Parent-based, always on at the root.
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: config.tracesUrl }),
        scheduledDelayMillis: config.scheduleDelayMs,
        maxQueueSize: config.maxQueueSize,
        maxExportBatchSize: config.maxExportBatchSize,
      }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (
    !context.setGlobalContextManager(contextManager) ||
    !trace.setGlobalTracerProvider(provider) ||
    !propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  ) {
    throw new Error('tracing is already initialised in this process');
  }
  let stopped: Promise<void> | undefined;
  return {
    exporting: true,
    shutdown: () =>
      (stopped ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          propagation.disable();
          context.disable();
          diag.disable();
        }
      })()),
  };
}
