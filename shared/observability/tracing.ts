// OpenTelemetry tracing, wired explicitly (no auto-instrumentation, nothing patched at import):
// each process entry calls `initTracing` once; HTTP servers open a SERVER span per request that
// continues the caller's W3C `traceparent`; the outbox stores the active context's `traceparent`
// with each message and the consumer continues it in a CONSUMER span, so one trace follows an
// order from the gateway through the subgraphs and across every NATS hop of its saga.
//
// With OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, spans are batched
// and sent over OTLP/HTTP (JSON). Without it, spans still get trace and span ids, so logs carry
// trace ids and `traceparent` is propagated, but nothing is recorded or exported.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from '@opentelemetry/semantic-conventions';
import { ConfigError, readInt, readUrl } from '../config.ts';
import type { Logger } from '../logger.ts';

type Env = Record<string, string | undefined>;

export interface TracingConfig {
  /** The OTLP/HTTP traces URL, or undefined: ids and propagation only, no export. */
  readonly tracesUrl: string | undefined;
  readonly scheduleDelayMs: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
}

export function readTracingConfig(env: Env = process.env): TracingConfig {
  const protocols = ['http:', 'https:'];
  let tracesUrl: string | undefined;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) {
    // Used as it is (the OTLP convention for the per-signal variable).
    tracesUrl = readUrl(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '', protocols);
  } else if (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) {
    // A base URL: the traces path is appended.
    const base = readUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', '', protocols);
    tracesUrl = `${base.replace(/\/+$/, '')}/v1/traces`;
  }
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name]?.trim();
    if (protocol && protocol !== 'http/json') {
      throw new ConfigError(`${name} must be "http/json" (the only OTLP protocol sent), got "${protocol}"`);
    }
  }
  const maxQueueSize = readInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1, 1_000_000);
  const maxExportBatchSize = readInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1, 1_000_000);
  if (maxExportBatchSize > maxQueueSize) {
    throw new ConfigError('OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE');
  }
  return {
    tracesUrl,
    scheduleDelayMs: readInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 1, 3_600_000),
    maxQueueSize,
    maxExportBatchSize,
  };
}

export interface Tracing {
  /** Whether spans are exported (an OTLP endpoint is set). */
  readonly exporting: boolean;
  /** Exports what is buffered and unregisters the provider. */
  shutdown(): Promise<void>;
}

/**
 * Registers this process's tracer provider, context manager (AsyncLocalStorage) and W3C
 * propagator when an OTLP endpoint is configured; call once per process, from its entry.
 *
 * Without an endpoint nothing is registered and the OpenTelemetry API stays a no-op: the saga
 * benchmark lost about a quarter of its throughput to non-recording spans and context
 * propagation that exported nothing. Incoming `traceparent` headers are still passed on and
 * their trace ids logged (a no-op span carries its parent's context). The SDK is then not even
 * loaded (tracing-export.ts): loading its modules would cost every process's start for nothing.
 */
export async function initTracing(
  service: string,
  env: Env = process.env,
  logger?: Logger,
): Promise<Tracing> {
  const config = readTracingConfig(env);
  if (config.tracesUrl === undefined) return { exporting: false, shutdown: async () => undefined };
  const { startExport } = await import('./tracing-export.ts');
  return startExport(service, { ...config, tracesUrl: config.tracesUrl }, logger);
}

export function tracer(): Tracer {
  return trace.getTracer('order-supergraph');
}

/** The `traceparent` (and `tracestate`) of a context, to send with a call or a message. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}

/** The context a received `traceparent` continues (the root context when there is none). */
export function contextFrom(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** The active span's ids, or undefined when no span is active (or tracing is not initialised). */
export function activeSpanContext(): SpanContext | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** The active span's trace id, for logs. */
export function activeTraceId(): string | undefined {
  return activeSpanContext()?.traceId;
}

/** The trace id of a W3C `traceparent` header (for logs when tracing is off), if well formed. */
export function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  const value = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  const traceId = value && /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(value)?.[1];
  return traceId && !/^0+$/.test(traceId) ? traceId : undefined;
}

/** Marks a span failed with an error. */
export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Runs an HTTP handler in a SERVER span (`POST /graphql`) that continues the request's
 * `traceparent`; the span ends when the response is finished or the connection closes. For
 * fixed routes only: the path names the span.
 */
export function withServerSpan(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const method = req.method ?? 'GET';
    const route = (req.url ?? '/').split('?')[0] ?? '/';
    const parent = contextFrom(req.headers);
    const span = tracer().startSpan(
      `${method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_HTTP_ROUTE]: route } },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (span.isRecording()) {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    try {
      await context.with(trace.setSpan(parent, span), () => handler(req, res));
    } catch (err) {
      failSpan(span, err);
      throw err;
    }
  };
}
