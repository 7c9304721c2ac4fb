import { Counter, Histogram, type Registry } from 'prom-client';
import { ORIGINAL_HTTP_LABELS, originalHttpLabels } from './edge-metrics.ts';

export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Methods Node's parser accepts are already a closed set; anything else is folded, to be safe. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The API port's request metrics. Labels carry the route *pattern* (or "unmatched"), never the
 * raw URL, so a client cannot add series by choosing paths.
 */
export function httpMetrics(registry: Registry) {
  const registers = [registry];
  const requests = new Counter({
    name: 'ges_http_requests_total',
    help: 'HTTP requests answered by the API port, by method, route pattern and status code (and, as in the original, httpCode, path and exported_tenant)',
    labelNames: ['method', 'route', 'status', ...ORIGINAL_HTTP_LABELS] as const,
    registers,
  });
  const failed = new Counter({
    name: 'ges_http_failed_requests_total',
    help: 'HTTP requests of the API port answered with a status >= 400 (labels as ges_http_requests_total)',
    labelNames: ['method', 'route', 'status', ...ORIGINAL_HTTP_LABELS] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'ges_http_request_duration_seconds',
    help: 'Time from receiving an API request to having sent its response, in seconds',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers,
  });
  return {
    /** Records one answered API request; `route` undefined means no route matched (404); `tenant` once authenticated. */
    observeHttp: (method: string, route: string | undefined, status: number, seconds: number, tenant?: string): void => {
      const labels = { method: METHODS.has(method) ? method : 'OTHER', route: route ?? 'unmatched' };
      const code = String(status);
      const counted = { ...labels, status: code, ...originalHttpLabels(labels.route, code, tenant) };
      requests.inc(counted);
      if (status >= 400) failed.inc(counted);
      duration.observe(labels, seconds);
    },
  };
}
