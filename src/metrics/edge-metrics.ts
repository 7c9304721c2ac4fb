import { Counter, type Registry } from 'prom-client';

/**
 * Metrics of the API edge: the original GES's alert-type counters (ges-api.md §5.4), under its
 * upper-case names so its dashboards and alert rules keep working, and ours for the limits and
 * refusals this edge adds. Labels come from closed sets or tenant names only.
 *
 * The original's counters, and what counts them here:
 * - CB_TTL_LIMIT_REACHED{exported_tenant}: a create refused by the per-key or per-tenant create
 *   rate limit (the original: "tenant ... is now throttling callbacks");
 * - CB_ENQUEUE_LIMIT_REACHED{exported_tenant}: a create refused by the per-number throttle of a
 *   service (GES_NUMBER_THROTTLED; the original: "throttling callback bookings for a given number");
 * - INVALID_CONTENT_LENGTH: a body over BODY_LIMIT_BYTES, or a Content-Length that is malformed or
 *   does not match the body;
 * - UNCAUGHT_EXCEPTION: an API request that ended in an unexpected error (500 GES_INTERNAL).
 */
export interface EdgeMetrics {
  readonly ttlLimitReached: Counter<'exported_tenant'>;
  readonly enqueueLimitReached: Counter<'exported_tenant'>;
  readonly invalidContentLength: Counter;
  readonly uncaughtException: Counter;
  readonly rateLimited: Counter<'tenant' | 'scope' | 'kind'>;
  readonly connectionsRefused: Counter<'reason'>;
  readonly abortedRequests: Counter;
  readonly rateLimiterFallbacks: Counter;
}

/** Original names served as they are (upper case, no ges_ prefix). */
export const ORIGINAL_ALERT_COUNTERS = ['CB_TTL_LIMIT_REACHED', 'CB_ENQUEUE_LIMIT_REACHED', 'INVALID_CONTENT_LENGTH', 'UNCAUGHT_EXCEPTION'] as const;

export function createEdgeMetrics(registers: Registry[]): EdgeMetrics {
  return {
    ttlLimitReached: new Counter({
      name: 'CB_TTL_LIMIT_REACHED',
      help: 'As in the original GES: creates refused because the API key or the tenant reached its create rate limit, by tenant name',
      labelNames: ['exported_tenant'] as const,
      registers,
    }),
    enqueueLimitReached: new Counter({
      name: 'CB_ENQUEUE_LIMIT_REACHED',
      help: 'As in the original GES: callback bookings refused because the number reached the per-24-hour limit of its service, by tenant name',
      labelNames: ['exported_tenant'] as const,
      registers,
    }),
    invalidContentLength: new Counter({
      name: 'INVALID_CONTENT_LENGTH',
      help: 'As in the original GES: API requests refused for their body size (over BODY_LIMIT_BYTES) or a malformed or mismatched Content-Length',
      registers,
    }),
    uncaughtException: new Counter({
      name: 'UNCAUGHT_EXCEPTION',
      help: 'As in the original GES: API requests that ended in an unexpected error (500 GES_INTERNAL; the log has the stack under the corrId)',
      registers,
    }),
    rateLimited: new Counter({
      name: 'ges_api_rate_limited_total',
      help: 'Engagement API requests answered 429 GES_RATE_LIMITED, by tenant, scope (key, tenant) and kind (create, other)',
      labelNames: ['tenant', 'scope', 'kind'] as const,
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'ges_http_connections_refused_total',
      help: 'Connections of the API port answered and closed before routing, by reason (timeout, header_overflow, invalid_content_length, malformed)',
      labelNames: ['reason'] as const,
      registers,
    }),
    abortedRequests: new Counter({
      name: 'ges_http_aborted_requests_total',
      help: 'API requests whose client closed the connection before the request was complete',
      registers,
    }),
    rateLimiterFallbacks: new Counter({
      name: 'ges_rate_limiter_fallbacks_total',
      help: "Rate-limit decisions taken by the node's in-process limiter because Redis did not answer in time (limits then hold per node)",
      registers,
    }),
  };
}

/** The original's HTTP labels, served beside ours on ges_http_requests_total and ges_http_failed_requests_total. */
export const ORIGINAL_HTTP_LABELS = ['httpCode', 'path', 'exported_tenant'] as const;
export type OriginalHttpLabel = (typeof ORIGINAL_HTTP_LABELS)[number];

/** Their values: httpCode = the status, path = the route pattern, exported_tenant = the tenant name ('' before authentication). */
export function originalHttpLabels(route: string, status: string, tenant: string | undefined): Record<OriginalHttpLabel, string> {
  return { httpCode: status, path: route, exported_tenant: tenant ?? '' };
}
