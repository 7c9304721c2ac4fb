import type { FastifyError, FastifyInstance } from 'fastify';
import { GesError } from '../domain/errors.ts';
import type { EdgeMetrics } from '../metrics/edge-metrics.ts';
import { isClientAbort } from './client-abort.ts';
import type { ClientErrorObserver } from './raw-answers.ts';

const CONTENT_LENGTH_ERRORS = new Set(['FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_CONTENT_LENGTH']);

/**
 * Moves the edge's counters (src/metrics/edge-metrics.ts) from the app's hooks, so no handler has
 * to know about them: refusals by the per-number throttle (CB_ENQUEUE_LIMIT_REACHED), bodies of a
 * wrong size (INVALID_CONTENT_LENGTH), aborted requests, and unexpected errors (UNCAUGHT_EXCEPTION,
 * the only way GES answers 500). Register before the routes' plugins so they inherit the hooks.
 */
export function observeEdge(app: FastifyInstance, metrics: EdgeMetrics): void {
  app.addHook('onError', async (request, _reply, error: FastifyError) => {
    if (error instanceof GesError) {
      if (error.code === 'GES_NUMBER_THROTTLED') metrics.enqueueLimitReached.inc({ exported_tenant: request.tenant?.name ?? '' });
      return;
    }
    if (CONTENT_LENGTH_ERRORS.has(error.code) || error.statusCode === 413) metrics.invalidContentLength.inc();
    else if (isClientAbort(error, request)) metrics.abortedRequests.inc();
  });
  app.addHook('onResponse', async (_request, reply) => {
    if (reply.statusCode === 500) metrics.uncaughtException.inc();
  });
}

/** What the clientError handler reports: every refused connection, and framing errors of Content-Length. */
export function clientErrorObserver(metrics: EdgeMetrics): ClientErrorObserver {
  return (reason) => {
    metrics.connectionsRefused.inc({ reason });
    if (reason === 'invalid_content_length') metrics.invalidContentLength.inc();
  };
}
