// One log line per HTTP request the gateway answers, in a server span that continues the
// client's trace.
import type { RequestHandler } from '../../../shared/http/server.ts';
import type { Logger } from '../../../shared/logger.ts';
import { withServerSpan } from '../../../shared/observability/tracing.ts';
import { requestMeta } from './request-meta.ts';

/**
 * Runs every request in a server span (continuing the client's traceparent), gives it an id
 * (echoed as x-request-id) and logs one line when it is answered.
 */
export function withRequestLog(
  handler: RequestHandler,
  trustedProxyHops: number,
  logger: Logger,
): RequestHandler {
  return withServerSpan((req, res) => {
    const meta = requestMeta(req, trustedProxyHops);
    res.setHeader('x-request-id', meta.requestId);
    res.on('finish', () => {
      logger.info(
        {
          requestId: meta.requestId,
          traceId: meta.trace.traceId,
          method: req.method,
          path: req.url?.split('?')[0],
          status: res.statusCode,
          userId: meta.userId,
          durationMs: Math.round(performance.now() - meta.startedAt),
        },
        'request',
      );
    });
    return handler(req, res);
  });
}
