// The operations commands against the real PostgreSQL and Redis: `ges recover` rebuilds the hot
// state after Redis lost it, `ges purge` reports what the retention removed, the progress bar is
// drawn only on a terminal, and `ges sizing` gives GES's figures beside the seed's formulas.
import { MAINTENANCE_STEPS } from '../src/app/maintenance.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config/config.ts';
import { buildTestApi, createTestDb, createTestTenant, inMinutes, post, TEST_DATABASE_URL, type TestDb, type TestTenant } from './support/test-env.ts';
import { connectRedis, dropPrefix, testPrefix, TEST_REDIS_URL } from './support/redis-env.ts';
import { RedisHotState } from '../src/hot/redis-hot-state.ts';
import { runRecover, describeRecovery } from '../src/cli/recover-command.ts';
import { runPurge, describePurge } from '../src/cli/purge-command.ts';
import { progressBar, renderProgress } from '../src/cli/progress-bar.ts';
import { renderSizingTable } from '../src/cli/sizing-command.ts';
import { SIZING_DEFAULTS, SizingInputError, estimateSizing, formatBytes, type SizingInput } from '../src/domain/sizing/sizing-estimate.ts';
import { GES_SIZING_FIGURES } from '../src/domain/sizing/sizing-figures.ts';

const run = promisify(execFile);
let db: TestDb;
let redis: Redis;
let app: FastifyInstance;
let tenant: TestTenant;

before(async () => {
  db = await createTestDb();
  redis = await connectRedis();
  app = await buildTestApi(db);
  tenant = await createTestTenant(db, 'ops', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 }, support: {} });
});
after(async () => {
  await app.close();
  redis.disconnect();
  await db.close();
});

const key = () => ({ 'x-api-key': tenant.apiKey });
const settings = (prefix: string, extra: Record<string, string> = {}) => ({
  DATABASE_URL: TEST_DATABASE_URL,
  DATABASE_SCHEMA: db.schema,
  LOG_LEVEL: 'silent',
  REDIS_URL: TEST_REDIS_URL,
  REDIS_KEY_PREFIX: prefix,
  ...extra,
});
const serviceId = async (name: string) => (await db.pool.query<{ id: number }>('SELECT id FROM callback_service WHERE name = $1', [name])).rows[0]!.id;

/** A progress target that records what a terminal would have been sent. */
function terminal(isTTY: boolean) {
  const written: string[] = [];
  return {
    isTTY,
    columns: 100,
    written,
    write(text: string) {
      written.push(text);
      return true;
    },
  };
}

test('recover puts every unfinished callback back in the due index or its queue after Redis lost them', async () => {
  const prefix = testPrefix();
  const hot = new RedisHotState(redis, prefix);
  try {
    const create = async (body: object) => (await post(app, '/callbacks/create', body, key())).body.data.id as string;
    const queued = [
      await create({ serviceName: 'sales', phoneNumber: '+12125550181' }),
      await create({ serviceName: 'sales', phoneNumber: '+12125550182', priority: 5 }),
    ];
    const scheduled = [await create({ serviceName: 'support', phoneNumber: '+12125550183', desiredTime: inMinutes(120) })];
    const cancelled = await create({ serviceName: 'sales', phoneNumber: '+12125550184' });
    await post(app, '/callbacks/cancel', { id: cancelled }, key());

    // Redis lost everything under the prefix (nothing was ever written there: a flushed store looks the same).
    await dropPrefix(redis, prefix);
    assert.equal((await hot.wakeups(1)).intact, false);

    const bar = terminal(true);
    const report = await runRecover(loadConfig({}, settings(prefix)), bar);
    assert.deepEqual(report, { scheduled: 1, queued: 2, retrying: 0, inFlight: 0, services: 1 });
    assert.equal(describeRecovery(report), 'hot state rebuilt from the database: 1 scheduled, 2 queued, 0 retrying, 0 in flight (1 service(s) with a queue)');
    assert.ok(
      bar.written.some((w) => w.includes('recover [') && w.includes('3/3')),
      'the bar reached the total',
    );
    assert.equal(bar.written.at(-1), '\r\x1b[2K', 'the bar line is cleared before the result is printed');

    const sales = await serviceId('sales');
    assert.equal((await hot.wakeups(1)).intact, true, 'the store is marked intact, so engines do not rebuild again');
    assert.equal(await hot.position(tenant.id, sales, queued[1]!), 1, 'priority 5 is ahead in the queue');
    assert.equal(await hot.position(tenant.id, sales, queued[0]!), 2);
    assert.equal(await hot.position(tenant.id, sales, cancelled), undefined, 'a finished callback is not queued again');
    const due = await hot.claimDue(tenant.id, Date.now() + 3 * 3600_000, 1000, 100);
    assert.deepEqual(due, scheduled, 'the scheduled callback is back in the due index');

    // Idempotent: a second run adds nothing new, and without a terminal draws nothing.
    const quiet = terminal(false);
    assert.deepEqual(await runRecover(loadConfig({}, settings(prefix)), quiet), report);
    assert.deepEqual(quiet.written, []);
    assert.deepEqual((await hot.counts(tenant.id, sales)).waiting, 2);
  } finally {
    await dropPrefix(redis, prefix);
  }
});

test('the recover command runs from the CLI, and refuses to run without Redis', async () => {
  const prefix = testPrefix();
  try {
    const env = { ...process.env, ...settings(prefix) };
    const { stdout, stderr } = await run(process.execPath, ['bin/ges.mjs', 'recover'], { env });
    assert.match(stdout, /^hot state rebuilt from the database: \d+ scheduled, \d+ queued, 0 retrying, 0 in flight \(\d+ service\(s\) with a queue\)\n$/);
    assert.equal(stderr, '', 'no progress bar when standard error is not a terminal');
    assert.ok((await new RedisHotState(redis, prefix).wakeups(1)).intact);
    const { REDIS_URL: _url, ...noRedis } = env;
    await assert.rejects(
      run(process.execPath, ['bin/ges.mjs', 'recover'], { env: { ...noRedis, REDIS_URL: '' } }),
      /recover needs REDIS_URL or REDIS_CLUSTER_NODES/,
    );
  } finally {
    await dropPrefix(redis, prefix);
  }
});

test('purge reports what the retention removed, step by step on a terminal', async () => {
  // Ten days past the retention, an old slot counter, a stale idempotency key, an old failed request.
  await db.pool.query(`SELECT ges_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 40, (now() AT TIME ZONE 'UTC')::date - 30)`);
  await db.pool.query(`INSERT INTO slot_booking (service_id, slot_start, booked) VALUES ($1, now() - interval '20 days', 3)`, [await serviceId('sales')]);
  await db.pool.query(`INSERT INTO idempotency_key (tenant_id, key, request_hash, created_at) VALUES ($1, 'old', '\\x00', now() - interval '25 hours')`, [
    tenant.id,
  ]);
  await db.pool.query(
    `INSERT INTO failed_request (tenant_id, at, corr_id, method, path, status_code) VALUES ($1, now() - interval '15 days', 'c', 'POST', '/x', 400)`,
    [tenant.id],
  );

  const bar = terminal(true);
  const report = await runPurge(loadConfig({}, settings('unused:')), bar);
  assert.equal(report.partitionsDropped, 10);
  assert.equal(report.slotCountersPurged, 1);
  assert.equal(report.idempotencyKeysPurged, 1);
  assert.equal(report.failedRequestsPurged, 1);
  assert.match(
    describePurge(report),
    /^dropped 10 expired day\(s\); removed 1 idempotency key\(s\), 1 slot counter\(s\), 0 call-in request\(s\) and 1 failed-request record\(s\); marked 0 call-in request\(s\) expired; prepared \d+ new day\(s\); forgot 0 spent CAPTCHA token\(s\); analyzed \d+ partition\(s\)$/,
  );
  assert.ok(
    bar.written.some((w) => w.includes('purge [') && w.includes(`${MAINTENANCE_STEPS}/${MAINTENANCE_STEPS}`)),
    'every step was shown',
  );
  assert.equal((await runPurge(loadConfig({}, settings('unused:')), terminal(false))).partitionsDropped, 0, 'nothing left to drop');
});

test('the progress bar is drawn only on a terminal, fits its width and is not redrawn needlessly', () => {
  assert.equal(renderProgress('recover', 50, 200, 'callbacks'), 'recover [########----------------------]  25% 50/200 callbacks');
  assert.equal(renderProgress('x', 0, 0), `x [${'#'.repeat(30)}] 100% 0/0`, 'nothing to do is done');
  assert.equal(renderProgress('recover', 1, 2, 'a long label', 20).length, 19);
  let now = 0;
  const out = terminal(true);
  const bar = progressBar('t', out, () => now);
  bar.update(1, 10);
  now += 10;
  bar.update(2, 10); // within 100 ms: skipped
  now += 10;
  bar.update(10, 10); // the end is always drawn
  assert.equal(out.written.length, 2);
  const none = terminal(false);
  const silent = progressBar('t', none);
  silent.update(1, 2);
  silent.done();
  assert.deepEqual(none.written, []);
});

const input = (over: Partial<SizingInput>): SizingInput => ({ callbacksPerDay: 0, userDataKb: 0, ...SIZING_DEFAULTS, ...over });

test("sizing: the seed formulas give the seed guide's own worked examples", () => {
  // "100,000 callbacks per day with 1 kB user data: database approximately 14 GB, Redis approximately 9.5 GB."
  const storage = estimateSizing(input({ callbacksPerDay: 100_000, userDataKb: 1 }));
  assert.equal(storage.seed.postgresBytes, 14e9);
  assert.equal(storage.seed.redisBytes, 9.45e9);
  // Operations example: 15-minute slots of 100, 24x7, booked 14 days ahead (9,600 a day), 1,000 immediate
  // callbacks in queue at an EWT of 90 min (16,000 a day), one node: 138,756 operations per minute.
  const ops = estimateSizing(input({ callbacksPerDay: 25_600, userDataKb: 0, scheduledShare: 9_600 / 25_600, bookedAheadDays: 14, ewtMinutes: 90, nodes: 1 }));
  assert.equal(ops.scheduledWaiting, 134_400);
  assert.equal(Math.round(ops.active), 1_600);
  assert.equal(Math.round(ops.seed.redisOpsPerMinute), 138_756);
});

test('sizing: GES needs follow from its measured figures', () => {
  const f = GES_SIZING_FIGURES;
  const e = estimateSizing(
    input({ callbacksPerDay: 10_000, userDataKb: 2, scheduledShare: 0.5, bookedAheadDays: 4, busyHours: 10, ewtMinutes: 6, nodes: 3, tenants: 7 }),
  );
  const held = 10_000 * 14 + 5_000 * 4;
  assert.equal(e.callbacksHeld, held);
  assert.equal(e.ges.postgresBytes, held * (f.postgresBytesPerCallback + f.postgresBytesPerUserDataByte * 2000));
  const perMinute = 10_000 / 600;
  assert.equal(e.ges.redisBytes, (5_000 * 4 + perMinute * 6) * f.redisBytesPerWaitingCallback, 'waiting callbacks only, no user data');
  assert.equal(
    e.ges.redisOpsPerMinute,
    3 * 60 * f.redisCommandsPerSecondIdleNode + perMinute * f.redisCommandsPerCallback,
    'idle cost per node whatever the tenants; nothing per waiting scheduled callback',
  );
  // The seed counts the idle load per tenant and one operation a minute per booked callback.
  assert.equal(Math.round(e.seed.redisOpsPerMinute), Math.round(50 * 60 * 3 * 7 + (20_000 - perMinute * 0.5 * 6) + perMinute * 110));
  assert.equal(formatBytes(e.ges.postgresBytes), '348 MB'); // 160,000 × (408 + 0.883 × 2,000) B
  assert.equal(formatBytes(133), '133 B');
  assert.equal(formatBytes(9.45e9), '9.45 GB');
});

test('sizing: bad input is refused with the field and its range', () => {
  assert.throws(
    () => estimateSizing(input({ callbacksPerDay: -1 })),
    (err: unknown) => err instanceof SizingInputError && err.field === 'callbacksPerDay',
  );
  assert.throws(() => estimateSizing(input({ scheduledShare: 1.5 })), /scheduledShare must be a number from 0 to 1 \(got 1\.5\)/);
  assert.throws(() => estimateSizing(input({ busyHours: 0 })), /busyHours must be a number above 0/);
  assert.throws(() => estimateSizing(input({ nodes: 1.5 })), /nodes must be a whole number/);
});

test('the sizing command prints a table beside the seed, or JSON', async () => {
  const table = (await run(process.execPath, ['bin/ges.mjs', 'sizing', '--callbacks-per-day', '100000', '--user-data-kb', '1'])).stdout;
  assert.match(table, /^Sizing for 100,000 callbacks a day with 1 kB of userData each, kept 14 days$/m);
  assert.match(table, /^Postgres disk\s+1\.81 GB\s+14\.0 GB$/m);
  assert.match(table, /^Redis memory\s+\S+ \S+\s+9\.45 GB$/m);
  const f = GES_SIZING_FIGURES;
  const opsPerMinute = Math.round(2 * 60 * f.redisCommandsPerSecondIdleNode + (100_000 / 1440) * f.redisCommandsPerCallback).toLocaleString('en-US');
  assert.match(
    table,
    new RegExp(`^Redis operations per minute\\s+${opsPerMinute}\\s+13,639$`, 'm'),
    "two idle nodes plus each callback's commands, from the measured figures",
  );
  assert.equal(table, `${renderSizingTable(estimateSizing(input({ callbacksPerDay: 100_000, userDataKb: 1 })))}\n`);
  const json = JSON.parse(
    (await run(process.execPath, ['bin/ges.mjs', 'sizing', '--callbacks-per-day', '1000', '--user-data-kb', '0', '--days', '7', '--json'])).stdout,
  );
  assert.equal(json.input.days, 7);
  assert.equal(json.ges.postgresBytes, 7000 * GES_SIZING_FIGURES.postgresBytesPerCallback);
  assert.equal(json.seed.postgresBytes, 7000 * 7000);
  await assert.rejects(
    run(process.execPath, ['bin/ges.mjs', 'sizing', '--callbacks-per-day', '10', '--user-data-kb', '1', '--scheduled-share', '2']),
    /--scheduled-share must be a number from 0 to 1 \(got 2\)/,
  );
  await assert.rejects(run(process.execPath, ['bin/ges.mjs', 'sizing', '--user-data-kb', '1']), /required option '--callbacks-per-day <n>' not specified/);
});
