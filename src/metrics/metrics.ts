import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queryable } from '../store/db.ts';
import { listMigrations, pendingMigrations } from '../store/migrator.ts';

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
  /** Probed on each scrape for `ges_database_up` and `ges_migrations_pending`; none: left as last set. */
  database?: Queryable;
  /** How long the scrape-time database probe may take before the database counts as down. */
  probeTimeoutMs?: number;
  /** `ges_build_info{version}`; defaults to the version in package.json. */
  version?: string;
  /** prom-client's process and Node.js metrics, prefixed `ges_` (default true). */
  defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpFailedRequests: Counter<'method' | 'route' | 'status'>;
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
  /** Records one answered API request; `route` undefined means no route matched (404). */
  observeHttp(method: string, route: string | undefined, status: number, seconds: number): void;
  /** Counts a callback really created (never an idempotent replay). */
  callbackCreated(event: { tenant: string; service: string; type: CallbackType }): void;
  /** Counts a Click-To-Call-In request created. */
  callInCreated(event: { tenant: string }): void;
  /** Counts an inbound call the call-in router handled, by result. */
  inboundCallRouted(event: { result: 'matched' | 'unmatched' | 'failed' }): void;
  /** Sets the health gauges from a check made elsewhere (the readiness probe). */
  setDatabaseHealth(up: boolean, pendingMigrations?: number): void;
  /** Records a maintenance round (retention, partitions, clock skew), or its failure. */
  maintenanceDone(report: { partitionsDropped: number; clockOffsetMs: number }): void;
  maintenanceFailed(): void;
}

export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Methods Node's parser accepts are already a closed set; anything else is folded, to be safe. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'ges_http_requests_total',
    help: 'HTTP requests answered by the API port, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpFailedRequests = new Counter({
    name: 'ges_http_failed_requests_total',
    help: 'HTTP requests of the API port answered with a status >= 400',
    labelNames: ['method', 'route', 'status'] as const,
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
    lastProbe ??= probe!().then(({ up, pending }) => setDatabaseHealth(up, pending)).finally(() => { lastProbe = undefined; });
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

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'ges_' });

  function setDatabaseHealth(up: boolean, pending?: number): void {
    databaseUp.set(up ? 1 : 0);
    if (pending !== undefined) migrationsPending.set(pending);
  }

  return {
    registry, httpRequests, httpFailedRequests, httpDuration, callbacksCreated, callInRequestsCreated, callInInboundCalls, databaseUp, migrationsPending, buildInfo,
    maintenanceRuns, partitionsDropped, clockSkew,
    maintenanceDone({ partitionsDropped: dropped, clockOffsetMs }) {
      maintenanceRuns.inc({ result: 'ok' });
      partitionsDropped.inc(dropped);
      clockSkew.set(clockOffsetMs / 1000);
    },
    maintenanceFailed() {
      maintenanceRuns.inc({ result: 'failed' });
    },
    observeHttp(method, route, status, seconds) {
      const labels = { method: METHODS.has(method) ? method : 'OTHER', route: route ?? 'unmatched' };
      const code = String(status);
      httpRequests.inc({ ...labels, status: code });
      if (status >= 400) httpFailedRequests.inc({ ...labels, status: code });
      httpDuration.observe(labels, seconds);
    },
    callbackCreated({ tenant, service, type }) {
      callbacksCreated.inc({ tenant, service, type });
    },
    callInCreated({ tenant }) {
      callInRequestsCreated.inc({ tenant });
    },
    inboundCallRouted({ result }) {
      callInInboundCalls.inc({ result });
    },
    setDatabaseHealth,
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
