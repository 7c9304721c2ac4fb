import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queryable } from '../store/db.ts';
import { listMigrations, pendingMigrations } from '../store/migrator.ts';
import { waitingByService } from '../store/callback-counts-read.ts';
import type { EngineObserver } from '../engine/callback-engine.ts';
import { REASONS, STATES, type CompletionReason } from '../domain/callback-state.ts';
import { ORIGINAL_HTTP_LABELS, createEdgeMetrics, originalHttpLabels, type EdgeMetrics, type OriginalHttpLabel } from './edge-metrics.ts';

/**
 * Prometheus metrics of one running GES. Every instance owns its own `Registry` (never
 * prom-client's global one), so two apps in one process, as in the tests, never collide.
 *
 * Label cardinality is bounded by construction: HTTP metrics carry the route *pattern* (or
 * "unmatched"), never the raw URL; business metrics carry the tenant and service *names*, never a
 * phone number, a callback id or anything else a client chooses freely.
 */

export type CallbackType = 'immediate' | 'scheduled';

export interface MetricsOptions {
  /**
   * Probed on each scrape for `ges_database_up` and `ges_migrations_pending`, and read (at most every
   * `queueSizeMaxAgeMs`) for `ges_queue_size`; none: left as last set.
   */
  database?: Queryable;
  /** How long a `ges_queue_size` reading is reused by later scrapes (default 10 s). */
  queueSizeMaxAgeMs?: number;
  /** How long the scrape-time database probe may take before the database counts as down. */
  probeTimeoutMs?: number;
  /** `ges_build_info{version}`; defaults to the version in package.json. */
  version?: string;
  /** prom-client's process and Node.js metrics, prefixed `ges_` (default true). */
  defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status' | OriginalHttpLabel>;
  readonly httpFailedRequests: Counter<'method' | 'route' | 'status' | OriginalHttpLabel>;
  /** The API edge's counters, the original's alert-type counters among them (src/metrics/edge-metrics.ts). */
  readonly edge: EdgeMetrics;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly callbacksCreated: Counter<'tenant' | 'service' | 'type'>;
  readonly callInRequestsCreated: Counter<'tenant'>;
  readonly callInInboundCalls: Counter<'result'>;
  readonly databaseUp: Gauge;
  readonly migrationsPending: Gauge;
  readonly buildInfo: Gauge<'version'>;
  readonly maintenanceRuns: Counter<'result'>;
  readonly partitionsDropped: Counter;
  readonly clockSkew: Gauge;
  readonly retentionRowsPurged: Counter<'kind'>;
  readonly redisUp: Gauge;
  /** The original's `REDIS_CONNECTION` and `GES_HEALTH` (> 0 = problem). */
  readonly redisConnection: Gauge;
  readonly gesHealth: Gauge;
  readonly dispatchLateness: Histogram<'tenant'>;
  readonly dialOutcomes: Counter<'tenant' | 'service' | 'outcome'>;
  readonly transitions: Counter<'tenant' | 'service' | 'state'>;
  readonly completions: Counter<'tenant' | 'service' | 'reason'>;
  readonly waitEstimateError: Histogram<'tenant' | 'service'>;
  readonly waitsMeasured: Counter<'tenant' | 'service'>;
  readonly queueSize: Gauge<'tenant' | 'service' | 'state'>;
  /** The callback engine's observer (give it to startEngineRuntime): moves the engine metrics. */
  readonly engine: Required<EngineObserver>;
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
  /** Sets the health gauges from a check made elsewhere (the readiness probe). */
  setDatabaseHealth(up: boolean, pendingMigrations?: number): void;
  /** `ges_redis_up` from a check made elsewhere (the readiness probe). */
  setRedisHealth(up: boolean): void;
  /** Checks Redis on every scrape for `ges_redis_up` (only a node that uses Redis calls this). */
  watchRedis(check: () => Promise<boolean>): void;
  /** Records a maintenance round (retention, partitions, clock skew), or its failure. */
  maintenanceDone(report: RetentionFigures): void;
  maintenanceFailed(): void;
}

/** What a maintenance round reports to the metrics (src/app/maintenance.ts MaintenanceReport). */
export interface RetentionFigures {
  partitionsDropped: number;
  clockOffsetMs: number;
  idempotencyKeysPurged?: number;
  slotCountersPurged?: number;
  callInPurged?: number;
  failedRequestsPurged?: number;
}

export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Due time to QUEUED: a healthy engine is within its poll interval (ENGINE_POLL_MS, 2 s). */
export const DISPATCH_LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
/** |predicted − actual| wait: estimates are read by people in minutes. */
export const WAIT_ERROR_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** Label values from closed sets: anything else is folded, so a stray value cannot add series. */
const DIAL_OUTCOMES = new Set(['answered', 'busy', 'no_answer', 'machine', 'invalid_number', 'failed']);
const STATE_NAMES = new Set<string>(Object.keys(STATES));
const REASON_NAMES = new Set<string>(Object.keys(REASONS));
const oneOf = (allowed: Set<string>, value: string | undefined, other: string) => (value !== undefined && allowed.has(value) ? value : other);

/** Methods Node's parser accepts are already a closed set; anything else is folded, to be safe. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'ges_http_requests_total',
    help: 'HTTP requests answered by the API port, by method, route pattern and status code (and, as in the original, httpCode, path and exported_tenant)',
    labelNames: ['method', 'route', 'status', ...ORIGINAL_HTTP_LABELS] as const,
    registers,
  });
  const httpFailedRequests = new Counter({
    name: 'ges_http_failed_requests_total',
    help: 'HTTP requests of the API port answered with a status >= 400 (labels as ges_http_requests_total)',
    labelNames: ['method', 'route', 'status', ...ORIGINAL_HTTP_LABELS] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'ges_http_request_duration_seconds',
    help: 'Time from receiving an API request to having sent its response, in seconds',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers,
  });
  const callbacksCreated = new Counter({
    name: 'ges_callbacks_created',
    help: 'Callbacks created (idempotent replays excluded), by tenant name, service name and type',
    labelNames: ['tenant', 'service', 'type'] as const,
    registers,
  });
  const callInRequestsCreated = new Counter({
    name: 'ges_callin_created',
    help: 'Click-To-Call-In requests created, by tenant name',
    labelNames: ['tenant'] as const,
    registers,
  });
  const callInInboundCalls = new Counter({
    name: 'ges_callin_inbound_calls_total',
    help: 'Inbound calls seen by the call-in router, by result (matched, unmatched, failed)',
    labelNames: ['result'] as const,
    registers,
  });

  const probe = options.database ? databaseProbe(options.database, options.probeTimeoutMs ?? 1000) : undefined;
  let lastProbe: Promise<void> | undefined;
  // Both health gauges share one probe per scrape (the registry collects metrics concurrently).
  const runProbe = () => {
    lastProbe ??= probe!()
      .then(({ up, pending }) => setDatabaseHealth(up, pending))
      .finally(() => {
        lastProbe = undefined;
      });
    return lastProbe;
  };
  const databaseUp = new Gauge({
    name: 'ges_database_up',
    help: '1 when the database answered SELECT 1 at the last check (scrape or readiness probe), else 0; NaN before any check',
    registers,
    ...(probe ? { collect: runProbe } : {}),
  });
  const migrationsPending = new Gauge({
    name: 'ges_migrations_pending',
    help: 'Shipped schema migrations not yet applied (NaN until the database has answered once)',
    registers,
    ...(probe ? { collect: runProbe } : {}),
  });
  // Unknown until a check has run (prom-client writes NaN as "Nan", which Prometheus reads as NaN):
  // a 0 before the first check would read as "database down".
  databaseUp.set(Number.NaN);
  migrationsPending.set(Number.NaN);
  const buildInfo = new Gauge({
    name: 'ges_build_info',
    help: 'Always 1; the label carries the running GES version',
    labelNames: ['version'] as const,
    registers,
  });
  buildInfo.set({ version: options.version ?? packageVersion() }, 1);

  const maintenanceRuns = new Counter({
    name: 'ges_maintenance_runs_total',
    help: 'Maintenance rounds (partitions, retention, key and counter purges, clock skew), by result (ok, failed)',
    labelNames: ['result'] as const,
    registers,
  });
  const partitionsDropped = new Counter({
    name: 'ges_retention_partitions_dropped_total',
    help: 'Days of callbacks dropped whole by the 14-day retention',
    registers,
  });
  const clockSkew = new Gauge({
    name: 'ges_db_clock_skew_seconds',
    help: 'Database clock minus this node clock, as last measured by maintenance',
    registers,
  });

  const retentionRowsPurged = new Counter({
    name: 'ges_retention_rows_purged_total',
    help: 'Rows deleted by retention and maintenance, by kind (idempotency_key, slot_counter, callin_request, failed_request)',
    labelNames: ['kind'] as const,
    registers,
  });

  let redisCheck: (() => Promise<boolean>) | undefined;
  let redisProbe: Promise<void> | undefined;
  // One PING per scrape, shared by the gauges that report it (the registry collects them concurrently).
  const runRedisProbe = (): Promise<void> => {
    if (!redisCheck) return Promise.resolve();
    redisProbe ??= redisCheck()
      .catch(() => false)
      .then(setRedisHealth)
      .finally(() => {
        redisProbe = undefined;
      });
    return redisProbe;
  };
  const redisUp = new Gauge({
    name: 'ges_redis_up',
    help: '1 when Redis answered PING at the last check (scrape or readiness probe), else 0; NaN on a node without Redis',
    registers,
    collect: runRedisProbe,
  });
  redisUp.set(Number.NaN);

  // The original's health gauges (ges-api.md §5.4), for dashboards and alerts written against it:
  // they read > 0 when something is wrong, the opposite of the ges_*_up gauges above.
  const redisConnection = new Gauge({
    name: 'REDIS_CONNECTION',
    help: 'As in the original GES: 1 when this node uses Redis and Redis did not answer at the last check, else 0',
    registers,
    collect: runRedisProbe,
  });
  redisConnection.set(0);
  const health = { databaseUp: undefined as boolean | undefined, pending: undefined as number | undefined, redisUp: undefined as boolean | undefined };
  const gesHealth = new Gauge({
    name: 'GES_HEALTH',
    help: "As in the original GES: 1 when this node is unhealthy (database down, migrations pending, or Redis down), else 0; the readiness probe's verdict",
    registers,
    async collect() {
      await Promise.all([probe ? runProbe() : undefined, runRedisProbe()]);
      this.set(health.databaseUp === false || (health.pending ?? 0) > 0 || health.redisUp === false ? 1 : 0);
    },
  });
  gesHealth.set(0);

  // ---- the callback engine (EngineObserver) ----
  const dispatchLateness = new Histogram({
    name: 'ges_dispatch_lateness_seconds',
    help: "Seconds from a scheduled callback's due time to the engine making it QUEUED, by tenant",
    labelNames: ['tenant'] as const,
    buckets: DISPATCH_LATENESS_BUCKETS,
    registers,
  });
  const dialOutcomes = new Counter({
    name: 'ges_dial_outcomes_total',
    help: 'Outcomes of calls to customers reported by the voice platform, by tenant, service and outcome',
    labelNames: ['tenant', 'service', 'outcome'] as const,
    registers,
  });
  const transitions = new Counter({
    name: 'ges_callback_transitions_total',
    help: 'Callbacks entering a state (QUEUED, ROUTING, PROCESSING, COMPLETED) after creation, by tenant, service and state',
    labelNames: ['tenant', 'service', 'state'] as const,
    registers,
  });
  const completions = new Counter({
    name: 'ges_callbacks_completed_total',
    help: 'Callbacks completed, by tenant, service and completion reason',
    labelNames: ['tenant', 'service', 'reason'] as const,
    registers,
  });
  const waitEstimateError = new Histogram({
    name: 'ges_wait_estimate_error_seconds',
    help: 'Absolute difference between the wait predicted as a callback joined its queue and its real wait, in seconds',
    labelNames: ['tenant', 'service'] as const,
    buckets: WAIT_ERROR_BUCKETS,
    registers,
  });
  const waitsMeasured = new Counter({
    name: 'ges_waits_measured_total',
    help: 'Callbacks whose real wait was compared with the prediction (first attempts that reached an agent)',
    labelNames: ['tenant', 'service'] as const,
    registers,
  });

  const queueRead = options.database ? queueSizeReader(options.database, options.queueSizeMaxAgeMs ?? 10_000, options.probeTimeoutMs ?? 1000) : undefined;
  const queueSize = new Gauge({
    name: 'ges_queue_size',
    help: 'Callbacks waiting, by tenant, service and state (scheduled: booked, not yet due; queued: waiting for an agent or a retry); read from the database, the same on every node',
    labelNames: ['tenant', 'service', 'state'] as const,
    registers,
    ...(queueRead
      ? {
          async collect() {
            const rows = await queueRead();
            if (!rows) return; // the database did not answer: keep the last reading
            this.reset(); // a deleted service's series go away
            for (const r of rows) {
              this.set({ tenant: r.tenant, service: r.service, state: 'scheduled' }, r.scheduled);
              this.set({ tenant: r.tenant, service: r.service, state: 'queued' }, r.queued);
            }
          },
        }
      : {}),
  });

  function completed(tenant: string, service: string, reason: string | undefined): void {
    transitions.inc({ tenant, service, state: 'COMPLETED' });
    completions.inc({ tenant, service, reason: oneOf(REASON_NAMES, reason, 'OTHER') });
  }
  const engine: Required<EngineObserver> = {
    transition({ tenant, service, to, reason }) {
      if (to === 'COMPLETED') completed(tenant, service, reason);
      else transitions.inc({ tenant, service, state: oneOf(STATE_NAMES, to, 'OTHER') });
    },
    dialOutcome({ tenant, service, outcome }) {
      dialOutcomes.inc({ tenant, service, outcome: oneOf(DIAL_OUTCOMES, outcome, 'other') });
    },
    dispatchLateness({ tenant, seconds }) {
      dispatchLateness.observe({ tenant }, Math.max(0, seconds));
    },
    waitMeasured({ tenant, service, predictedSec, actualSec }) {
      waitsMeasured.inc({ tenant, service });
      waitEstimateError.observe({ tenant, service }, Math.abs(predictedSec - actualSec));
    },
  };

  const edge = createEdgeMetrics(registers);

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'ges_' });

  function setDatabaseHealth(up: boolean, pending?: number): void {
    health.databaseUp = up;
    databaseUp.set(up ? 1 : 0);
    if (pending !== undefined) {
      health.pending = pending;
      migrationsPending.set(pending);
    }
  }

  function setRedisHealth(up: boolean): void {
    health.redisUp = up;
    redisUp.set(up ? 1 : 0);
    redisConnection.set(up ? 0 : 1);
  }

  return {
    registry,
    httpRequests,
    httpFailedRequests,
    httpDuration,
    edge,
    callbacksCreated,
    callInRequestsCreated,
    callInInboundCalls,
    databaseUp,
    migrationsPending,
    buildInfo,
    maintenanceRuns,
    partitionsDropped,
    clockSkew,
    retentionRowsPurged,
    redisUp,
    redisConnection,
    gesHealth,
    dispatchLateness,
    dialOutcomes,
    transitions,
    completions,
    waitEstimateError,
    waitsMeasured,
    queueSize,
    engine,
    maintenanceDone(report) {
      maintenanceRuns.inc({ result: 'ok' });
      partitionsDropped.inc(report.partitionsDropped);
      retentionRowsPurged.inc({ kind: 'idempotency_key' }, report.idempotencyKeysPurged ?? 0);
      retentionRowsPurged.inc({ kind: 'slot_counter' }, report.slotCountersPurged ?? 0);
      retentionRowsPurged.inc({ kind: 'callin_request' }, report.callInPurged ?? 0);
      retentionRowsPurged.inc({ kind: 'failed_request' }, report.failedRequestsPurged ?? 0);
      clockSkew.set(report.clockOffsetMs / 1000);
    },
    maintenanceFailed() {
      maintenanceRuns.inc({ result: 'failed' });
    },
    observeHttp(method, route, status, seconds, tenant) {
      const labels = { method: METHODS.has(method) ? method : 'OTHER', route: route ?? 'unmatched' };
      const code = String(status);
      const counted = { ...labels, status: code, ...originalHttpLabels(labels.route, code, tenant) };
      httpRequests.inc(counted);
      if (status >= 400) httpFailedRequests.inc(counted);
      httpDuration.observe(labels, seconds);
    },
    callbackCreated({ tenant, service, type }) {
      callbacksCreated.inc({ tenant, service, type });
    },
    callbackCompleted({ tenant, service, reason }) {
      completed(tenant, service, reason);
    },
    callInCreated({ tenant }) {
      callInRequestsCreated.inc({ tenant });
    },
    inboundCallRouted({ result }) {
      callInInboundCalls.inc({ result });
    },
    setDatabaseHealth,
    setRedisHealth,
    watchRedis(check) {
      redisCheck = check;
    },
  };
}

/**
 * `ges_queue_size` is one grouped count over the partial index of waiting callbacks. It is the
 * same figure on every node, so a reading is shared by the scrapes of `maxAgeMs`, and a database
 * that does not answer in time leaves the last reading in place (undefined).
 */
function queueSizeReader(db: Queryable, maxAgeMs: number, timeoutMs: number) {
  let last: { at: number; rows: Awaited<ReturnType<typeof waitingByService>> } | undefined;
  let pending: Promise<typeof last> | undefined;
  return async () => {
    if (last && Date.now() - last.at < maxAgeMs) return last.rows;
    pending ??= withTimeout(waitingByService(db), timeoutMs)
      .then(
        (rows) => (last = { at: Date.now(), rows }),
        () => undefined,
      )
      .finally(() => {
        pending = undefined;
      });
    return (await pending)?.rows;
  };
}

/**
 * `SELECT 1` bounded by a timeout (a connection that cannot be had in time counts as down), then
 * the pending migrations while any remain. Once none remain the answer cannot change for the life
 * of the process, so it is not asked again.
 */
function databaseProbe(db: Queryable, timeoutMs: number): () => Promise<{ up: boolean; pending?: number }> {
  const migrations = listMigrations();
  let migrated = false;
  return async () => {
    try {
      await withTimeout(db.query('SELECT 1'), timeoutMs);
      if (migrated) return { up: true, pending: 0 };
      const pending = (await withTimeout(pendingMigrations(db, migrations), timeoutMs)).length;
      migrated = pending === 0;
      return { up: true, pending };
    } catch {
      return { up: false };
    }
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => undefined); // a late failure after the timeout must not go unhandled
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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
