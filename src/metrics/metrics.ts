import { readFileSync } from 'node:fs';
import { Gauge, Registry, collectDefaultMetrics, type Counter } from 'prom-client';
import type { EngineObserver } from '../engine/callback-engine.ts';
import type { CompletionReason } from '../domain/callback-state.ts';
import { httpMetrics } from './http-metrics.ts';
import { requestMetrics, type CallbackType } from './request-metrics.ts';
import { healthMetrics, type DatabaseHealthSource } from './health-metrics.ts';
import { maintenanceMetrics, type RetentionFigures } from './maintenance-metrics.ts';
import { engineMetrics } from './engine-metrics.ts';
import { pushMetrics } from './push-metrics.ts';
import { sipMetrics, type SipMetrics } from './sip-metrics.ts';
import { queueSizeMetric, type QueueSizeSource } from './queue-size-metric.ts';
import { createEdgeMetrics, type EdgeMetrics } from './edge-metrics.ts';
import { captchaMetrics, type CaptchaCheckResult } from './captcha-metrics.ts';

export type { CallbackType } from './request-metrics.ts';
export type { RetentionFigures } from './maintenance-metrics.ts';
export type { DatabaseHealthSource } from './health-metrics.ts';
export type { QueueSizeRow } from './queue-size-reading.ts';
export type { QueueSizeSource } from './queue-size-metric.ts';
export { HTTP_DURATION_BUCKETS } from './http-metrics.ts';
export { DISPATCH_LATENESS_BUCKETS, WAIT_ERROR_BUCKETS } from './engine-metrics.ts';

/**
 * Prometheus metrics of one running GES, assembled from one module per concern (HTTP, requests,
 * health, maintenance, engine, queue size). Every instance owns its own `Registry` (never
 * prom-client's global one), so two apps in one process, as in the tests, never collide. Nothing
 * here touches the database: the health gauges read the node's shared probe, the queue size a read
 * model handed in by the composition root.
 *
 * Label cardinality is bounded by construction: HTTP metrics carry the route *pattern* (or
 * "unmatched"), never the raw URL; business metrics carry the tenant and service *names*, never a
 * phone number, a callback id or anything else a client chooses freely.
 */

export interface MetricsOptions {
  /** The node's database-health probe (src/store/database-health.ts); none: the gauges stay NaN. */
  databaseHealth?: DatabaseHealthSource;
  /** The last reading of the waiting callbacks per service (src/metrics/queue-size-reading.ts); none: `ges_queue_size` stays empty. */
  queueSizes?: QueueSizeSource;
  /** `ges_build_info{version}`; defaults to the version in package.json. */
  version?: string;
  /** prom-client's process and Node.js metrics, prefixed `ges_` (default true). */
  defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  /** The callback engine's observer (give it to startEngineRuntime): moves the engine metrics. */
  readonly engine: Required<EngineObserver>;
  readonly callInRequestsCreated: Counter<'tenant'>;
  readonly callInInboundCalls: Counter<'result'>;
  /** The API edge's counters, the original's alert-type counters among them (src/metrics/edge-metrics.ts). */
  readonly edge: EdgeMetrics;
  /** Records one answered API request; `route` undefined means no route matched (404); `tenant` once authenticated. */
  observeHttp(method: string, route: string | undefined, status: number, seconds: number, tenant?: string): void;
  /** Counts a callback really created (never an idempotent replay). */
  callbackCreated(event: { tenant: string; service: string; type: CallbackType }): void;
  /** Counts a callback completed outside the engine (a cancel through the API or the console). */
  callbackCompleted(event: { tenant: string; service: string; reason: CompletionReason }): void;
  /** Counts a Click-To-Call-In request created. */
  callInCreated(event: { tenant: string }): void;
  /** Counts an inbound call the call-in router handled, by result. */
  inboundCallRouted(event: { result: 'matched' | 'unmatched' | 'failed' }): void;
  /** `ges_redis_up` from a check made elsewhere (the readiness probe). */
  setRedisHealth(up: boolean): void;
  /** Checks Redis on every scrape for `ges_redis_up` (only a node that uses Redis calls this). */
  watchRedis(check: () => Promise<boolean>): void;
  /** Records a maintenance round (retention, partitions, clock skew), or its failure. */
  maintenanceDone(report: RetentionFigures): void;
  maintenanceFailed(): void;
  /** Counts a push outcome or retry (`ges_push_notifications_sent`): the FCM sender's observer. */
  pushSent(event: { tenant: string; result: string }): void;
  /** Counts a CAPTCHA check by result (`ges_captcha_checks_total`). */
  captchaChecked(event: { result: CaptchaCheckResult }): void;
  /** The SIP adapter's observer of calls, media and refused requests (src/metrics/sip-metrics.ts). */
  readonly sip: SipMetrics;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const http = httpMetrics(registry);
  const requests = requestMetrics(registry);
  const health = healthMetrics(registry, options.databaseHealth);
  new Gauge({
    name: 'ges_build_info',
    help: 'Always 1; the label carries the running GES version',
    labelNames: ['version'] as const,
    registers: [registry],
  }).set({ version: options.version ?? packageVersion() }, 1);
  const maintenance = maintenanceMetrics(registry);
  const engine = engineMetrics(registry);
  queueSizeMetric(registry, options.queueSizes);
  const edge = createEdgeMetrics([registry]);
  const push = pushMetrics(registry);
  const captcha = captchaMetrics(registry);
  const sip = sipMetrics(registry);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'ges_' });
  return {
    registry,
    engine: engine.engine,
    callInRequestsCreated: requests.callInRequestsCreated,
    callInInboundCalls: requests.callInInboundCalls,
    edge,
    observeHttp: http.observeHttp,
    callbackCreated: requests.callbackCreated,
    callbackCompleted: engine.callbackCompleted,
    callInCreated: requests.callInCreated,
    inboundCallRouted: requests.inboundCallRouted,
    setRedisHealth: health.setRedisHealth,
    watchRedis: health.watchRedis,
    maintenanceDone: maintenance.maintenanceDone,
    maintenanceFailed: maintenance.maintenanceFailed,
    pushSent: push.pushSent,
    captchaChecked: captcha.captchaChecked,
    sip,
  };
}

function packageVersion(): string {
  try {
    // src/metrics/ in a checkout and dist/metrics/ in a build both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
