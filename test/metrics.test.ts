import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { register as globalRegistry } from 'prom-client';
import { buildApiApp } from '../src/main/api-app-assembly.ts';
import { buildInternalApp } from '../src/http/internal-app.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createPool, type Queryable } from '../src/store/db.ts';
import { DatabaseHealth } from '../src/store/database-health.ts';
import { waitingByService } from '../src/store/callback-counts-read.ts';
import { QueueSizeReading } from '../src/metrics/queue-size-reading.ts';
import { createMetrics, type Metrics } from '../src/metrics/metrics.ts';
import { createTestDb, createTestTenant, inMinutes, post, type TestDb } from './support/test-env.ts';
import { connectRedis, dropPrefix, testPrefix } from './support/redis-env.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { RedisHotState } from '../src/hot/redis-hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';

let db: TestDb;
before(async () => {
  db = await createTestDb();
});
after(() => db.close());

const silent = createLogger('silent');

/** The node's shared probe and the metrics on it, wired as the composition root does. */
function metricsOn(database: Queryable, options: { defaultMetrics?: boolean; timeoutMs?: number } = {}) {
  const databaseHealth = new DatabaseHealth(database, options.timeoutMs ?? 1000);
  const queueSizes = new QueueSizeReading(() => waitingByService(database), options.timeoutMs ?? 1000);
  const metrics = createMetrics({ databaseHealth, queueSizes, ...options });
  return { metrics, databaseHealth, queueSizes };
}

async function buildApps(metrics: Metrics, databaseHealth?: DatabaseHealth): Promise<{ api: FastifyInstance; internal: FastifyInstance }> {
  const api = await buildApiApp({
    pool: db.pool,
    logger: silent,
    bodyLimitBytes: 65536,
    metrics,
    callbacks: new CallbackService(db.pool, db.clock, metrics),
    availability: new AvailabilityService(db.pool, db.clock),
  });
  const internal = await buildInternalApp({ pool: db.pool, logger: silent, isShuttingDown: () => false, adminToken: '', metrics, databaseHealth });
  return { api, internal };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (enough of it for these tests). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with that name and exactly these labels; undefined when absent. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} appears ${found.length} times`);
  return found[0]?.value;
}

async function scrape(internal: FastifyInstance): Promise<{ text: string; samples: Sample[] }> {
  const res = await internal.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  return { text: res.body, samples: parse(res.body) };
}

const CREATE = '/engagement/v3/callbacks/create';
const RETRIEVE = '/engagement/v3/callbacks/retrieve';

test('HTTP and business counters move with bounded labels, and the health gauges are set', async () => {
  const { metrics, databaseHealth } = metricsOn(db.pool);
  const { api, internal } = await buildApps(metrics, databaseHealth);
  const tenant = await createTestTenant(db, 'metrics-co', { sales: {}, support: {} });
  const key = { 'x-api-key': tenant.apiKey };
  const phones = ['+12125550141', '+12125550142', '+12125550143', '+12125550144', '+12125550145'];
  const ids: string[] = [];
  const create = async (body: object, headers: Record<string, string> = {}) => {
    const res = await post(api, '/callbacks/create', body, { ...key, ...headers });
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    ids.push(res.body.data.id);
    return res;
  };

  await create({ serviceName: 'sales', phoneNumber: phones[0] });
  await create({ serviceName: 'sales', phoneNumber: phones[1] });
  await create({ serviceName: 'sales', phoneNumber: phones[2], desiredTime: inMinutes(60) });
  await create({ serviceName: 'support', phoneNumber: phones[3] });
  // An idempotent replay answers 200 but creates nothing: counted as a request, not as a callback.
  const body = { serviceName: 'support', phoneNumber: phones[4], desiredTime: inMinutes(90) };
  await create(body, { 'idempotency-key': 'metrics-1' });
  const replay = await create(body, { 'idempotency-key': 'metrics-1' });
  assert.equal(replay.headers['idempotent-replayed'], 'true');

  const unknownId = randomUUID();
  assert.equal((await post(api, '/callbacks/retrieve', { id: unknownId }, key)).statusCode, 404);
  assert.equal((await post(api, '/callbacks/create', { serviceName: 'sales' }, key)).statusCode, 400);
  const strayPath = `/engagement/v3/callbacks/${unknownId}/phone/+12125550199`;
  assert.equal((await api.inject({ method: 'GET', url: strayPath })).statusCode, 404);

  await databaseHealth.check(); // as the node's background check does every few seconds
  const { text, samples } = await scrape(internal);

  assert.match(text, /^# TYPE ges_http_requests_total counter$/m);
  assert.match(text, /^# TYPE ges_http_failed_requests_total counter$/m);
  assert.match(text, /^# TYPE ges_http_request_duration_seconds histogram$/m);
  assert.match(text, /^# TYPE ges_callbacks_created counter$/m);

  // ges_callbacks_created: every real create, by tenant name, service name and type.
  assert.equal(value(samples, 'ges_callbacks_created', { tenant: 'metrics-co', service: 'sales', type: 'immediate' }), 2);
  assert.equal(value(samples, 'ges_callbacks_created', { tenant: 'metrics-co', service: 'sales', type: 'scheduled' }), 1);
  assert.equal(value(samples, 'ges_callbacks_created', { tenant: 'metrics-co', service: 'support', type: 'immediate' }), 1);
  assert.equal(value(samples, 'ges_callbacks_created', { tenant: 'metrics-co', service: 'support', type: 'scheduled' }), 1, 'the replay is not counted');

  // ges_http_requests_total / ges_http_failed_requests_total: route patterns, "unmatched" for 404s;
  // beside them the original's labels: httpCode, path and exported_tenant (empty before authentication).
  const labels = (route: string, status: string, method: string, tenant: string) => ({
    method,
    route,
    status,
    httpCode: status,
    path: route,
    exported_tenant: tenant,
  });
  const requests = (route: string, status: string, method = 'POST', tenant = 'metrics-co') =>
    value(samples, 'ges_http_requests_total', labels(route, status, method, tenant));
  const failed = (route: string, status: string, method = 'POST', tenant = 'metrics-co') =>
    value(samples, 'ges_http_failed_requests_total', labels(route, status, method, tenant));
  assert.equal(requests(CREATE, '200'), 6);
  assert.equal(requests(CREATE, '400'), 1);
  assert.equal(requests(RETRIEVE, '404'), 1);
  assert.equal(requests('unmatched', '404', 'GET', ''), 1);
  assert.equal(failed(CREATE, '200'), undefined);
  assert.equal(failed(CREATE, '400'), 1);
  assert.equal(failed(RETRIEVE, '404'), 1);
  assert.equal(failed('unmatched', '404', 'GET', ''), 1);
  const total = samples.filter((s) => s.name === 'ges_http_requests_total').reduce((n, s) => n + s.value, 0);
  assert.equal(total, 9);

  // ges_http_request_duration_seconds: counts per method and route, cumulative buckets up to 2.5 s.
  const hist = (suffix: string, labels: Record<string, string>) => value(samples, `ges_http_request_duration_seconds${suffix}`, labels);
  assert.equal(hist('_count', { method: 'POST', route: CREATE }), 7);
  assert.equal(hist('_count', { method: 'POST', route: RETRIEVE }), 1);
  assert.equal(hist('_count', { method: 'GET', route: 'unmatched' }), 1);
  assert.ok(hist('_sum', { method: 'POST', route: CREATE })! > 0);
  assert.equal(hist('_bucket', { method: 'POST', route: CREATE, le: '+Inf' }), 7);
  assert.equal(hist('_bucket', { method: 'POST', route: CREATE, le: '0.001' }) !== undefined, true);
  assert.equal(hist('_bucket', { method: 'POST', route: CREATE, le: '2.5' }) !== undefined, true);

  // Bounded cardinality: only route patterns, and no phone number, callback id or raw URL anywhere.
  const routes = new Set(samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route));
  assert.deepEqual([...routes].sort(), [CREATE, RETRIEVE, 'unmatched'].sort());
  const labelValues = samples.flatMap((s) => Object.values(s.labels));
  for (const v of labelValues) {
    for (const id of [...ids, unknownId]) assert.ok(!v.includes(id), `a label holds the callback id ${id}`);
    assert.ok(!/555\D?01\d\d/.test(v), `a label holds a phone number: ${v}`);
    assert.ok(!v.includes('/phone/'), `a label holds a raw URL: ${v}`);
  }
  for (const p of phones) assert.ok(!text.includes(p.slice(2)), 'no phone number in the exposition');

  // Health, build and runtime metrics.
  assert.equal(value(samples, 'ges_database_up'), 1);
  assert.equal(value(samples, 'ges_migrations_pending'), 0);
  const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  assert.equal(value(samples, 'ges_build_info', { version }), 1);
  assert.ok(value(samples, 'ges_process_cpu_seconds_total')! >= 0);
  assert.ok(samples.some((s) => s.name === 'ges_nodejs_eventloop_lag_seconds'));
  assert.ok(samples.some((s) => s.name === 'ges_process_resident_memory_bytes'));

  // The internal app's own requests (scrapes, probes) are not counted.
  await internal.inject('/health/ready');
  const again = (await scrape(internal)).samples;
  assert.equal(
    again.filter((s) => s.name === 'ges_http_requests_total').reduce((n, s) => n + s.value, 0),
    9,
  );

  await api.close();
  await internal.close();
});

test('database_up is 0 when the database is unreachable or too slow, and a scrape runs no SQL: it reads the probe readiness shares', async () => {
  const dead = createPool({ url: 'postgres://root@127.0.0.1:1/none', max: 1 });
  try {
    const { metrics, databaseHealth } = metricsOn(dead, { timeoutMs: 2000, defaultMetrics: false });
    const internal = await buildInternalApp({ pool: dead, logger: silent, isShuttingDown: () => false, adminToken: '', metrics, databaseHealth });
    assert.equal((await internal.inject('/health/ready')).statusCode, 503);
    const { text, samples } = await scrape(internal);
    assert.equal(value(samples, 'ges_database_up'), 0);
    assert.match(text, /^ges_migrations_pending nan$/im, 'unknown while the database never answered');
    await internal.close();
  } finally {
    await dead.end();
  }

  // A database that never answers: the probe reports it down after its timeout, and a scrape
  // never asks it anything (it would hang otherwise).
  let queries = 0;
  const hangingDb = {
    query: () => {
      queries += 1;
      return new Promise<never>(() => undefined);
    },
  } as unknown as Queryable;
  const hanging = createMetrics({ databaseHealth: new DatabaseHealth(hangingDb, 50), defaultMetrics: false });
  const started = Date.now();
  const text = await hanging.registry.metrics();
  assert.ok(Date.now() - started < 1000);
  assert.equal(queries, 0, 'the scrape ran no SQL');
  assert.match(text, /^ges_database_up nan$/im, 'unknown before the first check');
  const slowHealth = new DatabaseHealth(hangingDb, 50);
  const slow = createMetrics({ databaseHealth: slowHealth, defaultMetrics: false });
  assert.equal((await slowHealth.check()).up, false);
  assert.equal(value(parse(await slow.registry.metrics()), 'ges_database_up'), 0);

  // The readiness check and the gauges share one probe: a readiness check moves the gauges.
  const shared = new DatabaseHealth(db.pool);
  const byReadiness = createMetrics({ databaseHealth: shared, defaultMetrics: false });
  const internal = await buildInternalApp({
    pool: db.pool,
    logger: silent,
    isShuttingDown: () => false,
    adminToken: '',
    metrics: byReadiness,
    databaseHealth: shared,
  });
  assert.match((await scrape(internal)).text, /^ges_database_up nan$/im, 'unknown before the first check');
  assert.equal((await internal.inject('/health/ready')).statusCode, 200);
  const { samples } = await scrape(internal);
  assert.equal(value(samples, 'ges_database_up'), 1);
  assert.equal(value(samples, 'ges_migrations_pending'), 0);
  await internal.close();
});

test('ges_queue_size: a scrape copies the last reading and runs no SQL; a failed or hanging read keeps the last reading', async () => {
  let reads = 0;
  let next: () => Promise<{ tenant: string; service: string; scheduled: number; queued: number }[]> = async () => [
    { tenant: 't', service: 'sales', scheduled: 3, queued: 1 },
  ];
  const reading = new QueueSizeReading(() => {
    reads += 1;
    return next();
  }, 50);
  const metrics = createMetrics({ queueSizes: reading, defaultMetrics: false });
  const size = async (state: string) => value(parse(await metrics.registry.metrics()), 'ges_queue_size', { tenant: 't', service: 'sales', state });

  assert.equal(await size('scheduled'), undefined, 'no series before the first reading');
  assert.equal(reads, 0, 'a scrape never reads');
  await reading.refresh();
  for (let i = 0; i < 20; i++) assert.equal(await size('scheduled'), 3);
  assert.equal(await size('queued'), 1);
  assert.equal(reads, 1, 'twenty scrapes, one read');

  next = () => new Promise(() => undefined); // the database hangs
  await reading.refresh(); // ends after the 50 ms timeout
  assert.equal(await size('scheduled'), 3, 'the last reading stays');
  next = async () => {
    throw new Error('connection terminated');
  };
  await reading.refresh();
  assert.equal(await size('queued'), 1);

  next = async () => [{ tenant: 't', service: 'support', scheduled: 0, queued: 2 }];
  await Promise.all([reading.refresh(), reading.refresh()]);
  assert.equal(reads, 4, 'concurrent refreshes share one read');
  assert.equal(await size('scheduled'), undefined, 'a service that is gone loses its series');
  assert.equal(value(parse(await metrics.registry.metrics()), 'ges_queue_size', { tenant: 't', service: 'support', state: 'queued' }), 2);
});

test('each app has its own registry: two in one process neither collide nor share counts', async () => {
  const first = metricsOn(db.pool).metrics;
  const second = metricsOn(db.pool).metrics; // would throw "already registered" on a shared registry
  const a = await buildApps(first);
  const b = await buildApps(second);
  const tenant = await createTestTenant(db, 'metrics-two');
  assert.equal((await post(a.api, '/callbacks/create', { serviceName: 'sales', phoneNumber: '+12125550161' }, { 'x-api-key': tenant.apiKey })).statusCode, 200);

  const inA = (await scrape(a.internal)).samples;
  const inB = (await scrape(b.internal)).samples;
  assert.equal(value(inA, 'ges_callbacks_created', { tenant: 'metrics-two', service: 'sales', type: 'immediate' }), 1);
  assert.equal(value(inB, 'ges_callbacks_created', { tenant: 'metrics-two', service: 'sales', type: 'immediate' }), undefined);
  const created = { method: 'POST', route: CREATE, status: '200', httpCode: '200', path: CREATE, exported_tenant: 'metrics-two' };
  assert.equal(value(inA, 'ges_http_requests_total', created), 1);
  assert.equal(value(inB, 'ges_http_requests_total', created), undefined);
  assert.ok(!globalRegistry.getMetricsAsArray().some((m) => m.name.startsWith('ges_')), 'nothing lands in the global registry');

  // Without metrics the internal app has no /metrics route.
  const bare = await buildInternalApp({ pool: db.pool, logger: silent, isShuttingDown: () => false, adminToken: '' });
  assert.equal((await bare.inject('/metrics')).statusCode, 404);
  await Promise.all([a.api.close(), a.internal.close(), b.api.close(), b.internal.close(), bare.close()]);
});

test('docs/METRICS.md lists every metric with its type and labels', () => {
  const doc = readFileSync(new URL('../docs/METRICS.md', import.meta.url), 'utf8');
  const rows = new Map(
    [
      ...doc.matchAll(
        /^\| `(ges_[a-z0-9_]+|GES_HEALTH|REDIS_CONNECTION|CB_TTL_LIMIT_REACHED|CB_ENQUEUE_LIMIT_REACHED|INVALID_CONTENT_LENGTH|UNCAUGHT_EXCEPTION)` \| (\w+) \| ([^|]*) \|/gm,
      ),
    ].map((m) => [m[1]!, { type: m[2]!, labels: [...m[3]!.matchAll(/`(\w+)`/g)].map((l) => l[1]!) }]),
  );
  const metrics = createMetrics().registry.getMetricsAsArray();
  // Some process metrics exist on Linux only, so elsewhere the table may list more than is registered.
  if (process.platform === 'linux') assert.deepEqual([...rows.keys()].sort(), metrics.map((m) => m.name).sort());
  for (const m of metrics) {
    const labels = (m as unknown as { labelNames: string[] }).labelNames;
    assert.deepEqual(rows.get(m.name), { type: m.type, labels }, m.name);
  }
});

test('callbacks worked by the engine move the engine metrics; queue sizes from the last reading, Redis health at scrape', async () => {
  const own = await createTestDb();
  const redis = await connectRedis();
  const prefix = testPrefix();
  const { metrics, queueSizes } = metricsOn(own.pool, { defaultMetrics: false });
  metrics.watchRedis(async () => (await redis.ping()) === 'PONG');
  const BUSY = '+14155550177';
  const t = await createTestTenant(own, 'engine-metrics', { sales: { executionBufferSec: 60 }, backlog: {} });
  const tenant = (await findTenantByName(own.pool, t.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 3,
    clock,
    // backlog has no agent: its callbacks stay queued.
    queues: {
      'engine-metrics/sales': { agents: 2, handleTimeSec: { mean: 60, sd: 10 } },
      'engine-metrics/backlog': { agents: 0, handleTimeSec: { mean: 60, sd: 10 } },
    },
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    perNumber: (phone) => (phone === BUSY ? { answer: 0, busy: 1 } : undefined),
  });
  const engine = new CallbackEngine({
    db: own.pool,
    hot: new RedisHotState(redis, prefix),
    voice: sim,
    clock: simulatedEngineClock(clock),
    logger: silent,
    pollMs: 1000,
    sweepMs: 10_000,
    observer: metrics.engine,
  });
  own.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(own.pool, own.clock, metrics);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  await sim.start();
  await engine.start();
  try {
    const at = (minutes: number) => new Date(clock.now() + minutes * 60_000).toISOString();
    await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: '+14155550170' });
    await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: BUSY });
    await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: '+14155550171', desiredTime: at(5) });
    const cancelled = await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: '+14155550172', desiredTime: at(50) });
    await callbacks.create(tenant, { serviceName: 'backlog', phoneNumber: '+14155550173' });
    await callbacks.create(tenant, { serviceName: 'backlog', phoneNumber: '+14155550174' });
    await engine.idle();

    await queueSizes.refresh(); // the node's timer does this every 10 s
    let samples = parse(await metrics.registry.metrics());
    const size = (service: string, state: string) => value(samples, 'ges_queue_size', { tenant: 'engine-metrics', service, state });
    assert.equal(size('sales', 'scheduled'), 2);
    assert.equal(size('backlog', 'queued'), 2);
    assert.equal(size('backlog', 'scheduled'), 0, 'a service with nothing waiting reports 0');
    assert.equal(value(samples, 'ges_redis_up'), 1);
    assert.equal(value(samples, 'REDIS_CONNECTION'), 0, "the original's gauge: 0 = no problem");
    assert.equal(value(samples, 'GES_HEALTH'), 0);

    await callbacks.cancel(tenant, cancelled.id);
    for (let i = 0; i < 30 * 60; i++) {
      clock.advanceBy(1000);
      await engine.idle();
      own.clock.__test__pretendNow(clock.now());
    }
    await queueSizes.refresh();
    samples = parse(await metrics.registry.metrics());
    const labels = { tenant: 'engine-metrics', service: 'sales' };

    // Completions by reason agree with Postgres, the truth: the cancel and the engine's own.
    const { rows } = await own.pool.query<{ reason: number; n: number }>(
      `SELECT c.reason, count(*)::int AS n FROM callback c JOIN callback_service s ON s.id = c.service_id WHERE s.name = 'sales' AND c.state = 5 GROUP BY 1`,
    );
    const byReason = new Map(rows.map((r) => [r.reason, r.n]));
    assert.equal(byReason.get(1), 2, 'the answered immediate and the scheduled callback reached an agent');
    assert.equal(value(samples, 'ges_callbacks_completed_total', { ...labels, reason: 'AGENT_CONNECTED' }), 2);
    assert.equal(value(samples, 'ges_callbacks_completed_total', { ...labels, reason: 'CANCELLED' }), 1);
    assert.equal(value(samples, 'ges_callbacks_completed_total', { ...labels, reason: 'FAIL_CALL_TO_CUSTOMER' }), byReason.get(4));
    assert.equal(byReason.get(4), 1, 'the busy number ran out of attempts');
    assert.equal(value(samples, 'ges_callback_transitions_total', { ...labels, state: 'COMPLETED' }), 4);
    assert.equal(value(samples, 'ges_callback_transitions_total', { ...labels, state: 'QUEUED' }), 1, 'the scheduled callback came due');
    assert.equal(value(samples, 'ges_callback_transitions_total', { ...labels, state: 'ROUTING' }), 2);
    assert.equal(value(samples, 'ges_callback_transitions_total', { ...labels, state: 'PROCESSING' }), 2);

    // Dial outcomes: two answered calls; the busy number as many times as it was dialed.
    const { rows: dials } = await own.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM callback_event WHERE kind = 2 AND detail = 'dial' AND callback_id = (SELECT id FROM callback WHERE phone = $1)`,
      [BUSY.slice(1)],
    );
    assert.equal(value(samples, 'ges_dial_outcomes_total', { ...labels, outcome: 'answered' }), 2);
    assert.equal(value(samples, 'ges_dial_outcomes_total', { ...labels, outcome: 'busy' }), dials[0]!.n);
    assert.ok(dials[0]!.n >= 2, 'the busy number was retried');

    // Dispatch lateness: one scheduled callback became QUEUED, within a step of the simulated clock.
    assert.equal(value(samples, 'ges_dispatch_lateness_seconds_count', { tenant: 'engine-metrics' }), 1);
    assert.ok(value(samples, 'ges_dispatch_lateness_seconds_sum', { tenant: 'engine-metrics' })! <= 2);
    assert.equal(value(samples, 'ges_dispatch_lateness_seconds_bucket', { tenant: 'engine-metrics', le: '2' }), 1);

    // Estimator error: every measured wait lands in the histogram.
    assert.equal(value(samples, 'ges_waits_measured_total', labels) ?? 0, value(samples, 'ges_wait_estimate_error_seconds_count', labels) ?? 0);

    assert.equal(value(samples, 'ges_queue_size', { ...labels, state: 'scheduled' }), 0, 'nothing scheduled is left');
    assert.equal(value(samples, 'ges_queue_size', { tenant: 'engine-metrics', service: 'backlog', state: 'queued' }), 2);

    // Nothing a client chose appears in a label.
    for (const v of samples.flatMap((x) => Object.values(x.labels))) {
      assert.ok(!/41555501\d\d/.test(v), `a label holds a phone number: ${v}`);
      assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(v), `a label holds an id: ${v}`);
    }
  } finally {
    await engine.stop();
    await sim.stop();
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await own.close();
  }
});

test('the estimator error is an absolute difference; the Redis gauge reads 0 when Redis does not answer', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.engine.waitMeasured({ tenant: 'a', service: 's', predictedSec: 100, actualSec: 40 });
  metrics.engine.waitMeasured({ tenant: 'a', service: 's', predictedSec: 30, actualSec: 50 });
  metrics.engine.dialOutcome({ tenant: 'a', service: 's', outcome: 'something-new' });
  for (const outcome of ['fax', 'sit', 'network_failure']) metrics.engine.dialOutcome({ tenant: 'a', service: 's', outcome });
  metrics.engine.transition({ tenant: 'a', service: 's', to: 'COMPLETED', reason: 'FAIL_ERROR' });
  assert.match(await metrics.registry.metrics(), /^ges_redis_up Nan$/m, 'unknown on a node without Redis');
  assert.match(await metrics.registry.metrics(), /^REDIS_CONNECTION 0$/m, 'no Redis, no Redis problem');
  let samples = parse(await metrics.registry.metrics());
  const labels = { tenant: 'a', service: 's' };
  assert.equal(value(samples, 'ges_waits_measured_total', labels), 2);
  assert.equal(value(samples, 'ges_wait_estimate_error_seconds_sum', labels), 80);
  assert.equal(value(samples, 'ges_wait_estimate_error_seconds_bucket', { ...labels, le: '15' }), 0);
  assert.equal(value(samples, 'ges_wait_estimate_error_seconds_bucket', { ...labels, le: '30' }), 1);
  assert.equal(value(samples, 'ges_wait_estimate_error_seconds_bucket', { ...labels, le: '60' }), 2);
  assert.equal(value(samples, 'ges_dial_outcomes_total', { ...labels, outcome: 'other' }), 1, 'an unknown outcome is folded');
  for (const outcome of ['fax', 'sit', 'network_failure'])
    assert.equal(value(samples, 'ges_dial_outcomes_total', { ...labels, outcome }), 1, `${outcome} is an outcome of its own`);
  assert.equal(value(samples, 'ges_callbacks_completed_total', { ...labels, reason: 'FAIL_ERROR' }), 1);

  const dead = new (await import('ioredis')).Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  metrics.watchRedis(async () => (await dead.ping()) === 'PONG');
  samples = parse(await metrics.registry.metrics());
  assert.equal(value(samples, 'ges_redis_up'), 0);
  assert.equal(value(samples, 'REDIS_CONNECTION'), 1, "the original's gauge reads > 0 when Redis is unreachable");
  assert.equal(value(samples, 'GES_HEALTH'), 1, 'and the node is unhealthy');
  dead.disconnect();
});
