import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, inMinutes, post, TEST_DATABASE_URL, type TestDb, type TestTenant } from './support/test-env.ts';
import { exportNumber, forgetNumber, subjectHash } from '../src/app/data-protection.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { recoverHotState } from '../src/app/hot-state-recovery.ts';
import { RedisHotState } from '../src/hot/redis-hot-state.ts';
import { connectRedis, dropPrefix, testPrefix, TEST_REDIS_URL } from './support/redis-env.ts';

const run = promisify(execFile);
let db: TestDb;
let app: FastifyInstance;
let tenant: TestTenant;
const A = '+12125550171';
const B = '+12125550172';

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  tenant = await createTestTenant(db, 'privacy', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 }, support: {} });
});
after(async () => {
  await app.close();
  await db.close();
});

const key = () => ({ 'x-api-key': tenant.apiKey });
const count = async (sql: string, params: unknown[]) => (await db.pool.query(sql, params)).rows[0].n as number;

test('export gives every record of the number with history and userData; forget erases exactly those, frees their capacity and leaves a hashed audit trail', async () => {
  const big = { note: randomBytes(6000).toString('base64') }; // stored out of line
  const scheduled = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: A, desiredTime: inMinutes(90), userData: big }, key())).body.data
    .id;
  const immediate = (await post(app, '/callbacks/create', { serviceName: 'support', phoneNumber: '(212) 555-0171', userData: { orderId: 'X1' } }, key())).body
    .data.id;
  await post(app, '/callbacks/cancel', { id: immediate }, key());
  const other = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: B, desiredTime: inMinutes(90) }, key())).body.data.id;

  const exported = await exportNumber(db.pool, 'privacy', '212-555-0171');
  assert.equal(exported.phoneNumber, A);
  assert.deepEqual(exported.callbacks.map((c) => c.id).sort(), [scheduled, immediate].sort());
  const s = exported.callbacks.find((c) => c.id === scheduled)!;
  assert.deepEqual(s.userData, big);
  assert.equal(exported.callbacks.find((c) => c.id === immediate)!.history.at(-1)!.reason, 'CANCELLED');

  const slotBefore = await count('SELECT coalesce(sum(booked), 0)::int AS n FROM slot_booking', []);
  const result = await forgetNumber(db.pool, 'privacy', A, 'test');
  assert.equal(result.erased, 2);
  assert.equal(await count('SELECT count(*)::int AS n FROM callback WHERE phone = $1', [A.slice(1)]), 0);
  assert.equal(await count('SELECT count(*)::int AS n FROM callback_event WHERE callback_id = ANY($1::uuid[])', [[scheduled, immediate]]), 0);
  assert.equal(await count('SELECT count(*)::int AS n FROM callback_data WHERE callback_id = $1', [scheduled]), 0);
  assert.equal(await count('SELECT coalesce(sum(booked), 0)::int AS n FROM slot_booking', []), slotBefore - 1, 'the scheduled callback gave back its place');
  assert.equal((await post(app, '/callbacks/retrieve', { id: other }, key())).statusCode, 200, 'another number is untouched');
  assert.deepEqual((await exportNumber(db.pool, 'privacy', A)).callbacks, []);

  const audit = (await db.pool.query(`SELECT action, subject_hash, detail FROM audit_event WHERE action = 'gdpr.forget'`)).rows;
  assert.equal(audit.length, 1);
  assert.equal(audit[0].subject_hash, subjectHash((await db.pool.query(`SELECT id, name FROM tenant WHERE name = 'privacy'`)).rows[0], A));
  assert.equal(audit[0].detail.callbacks, 2);
  assert.equal(audit[0].detail.callInRequests, 0);
  assert.ok(!JSON.stringify(audit).includes('5550171'), 'the audit trail does not hold the number');
});

test("forget also erases the number's call-in requests and takes its unfinished callbacks out of Redis", async () => {
  const C = '+12125550174';
  const D = '+12125550175';
  const redis = await connectRedis();
  const prefix = testPrefix();
  const hot = new RedisHotState(redis, prefix);
  try {
    await applyTenantConfig(db.pool, { tenant: 'privacy', callInGroups: [{ name: 'privacy-in', dnis: ['+12125550100'], targetService: 'support' }] });
    for (const from of [C, C, D])
      assert.equal((await post(app, '/call-in/requests/create', { groupName: 'privacy-in', fromPhoneNumber: from }, key())).statusCode, 200);
    const create = async (body: object) => (await post(app, '/callbacks/create', body, key())).body.data.id as string;
    const queued = await create({ serviceName: 'sales', phoneNumber: C });
    const scheduled = await create({ serviceName: 'support', phoneNumber: C, desiredTime: inMinutes(60) });
    const keptQueued = await create({ serviceName: 'sales', phoneNumber: D });
    const keptScheduled = await create({ serviceName: 'support', phoneNumber: D, desiredTime: inMinutes(60) });
    await recoverHotState(db.pool, hot); // the hot state as the engine keeps it
    const sales = (await db.pool.query(`SELECT id FROM callback_service WHERE name = 'sales'`)).rows[0].id as number;
    assert.ok(await hot.position(tenant.id, sales, queued));

    const exported = await exportNumber(db.pool, 'privacy', C);
    assert.equal(exported.callInRequests.length, 2, "the export holds the number's call-in requests");
    assert.ok(exported.callInRequests.every((r) => r.fromNumber === C && r.groupName === 'privacy-in' && r.state === 'WAITING'));
    const result = await forgetNumber(db.pool, 'privacy', C, 'test', 'US', hot);
    assert.deepEqual((await exportNumber(db.pool, 'privacy', C)).callInRequests, [], 'nothing is left to export');
    assert.deepEqual({ ...result, subject: undefined }, { erased: 2, callInRequests: 2, hotStateEntries: 2, subject: undefined });

    assert.equal(await hot.position(tenant.id, sales, queued), undefined, 'out of its queue');
    assert.ok(await hot.position(tenant.id, sales, keptQueued), 'another number keeps its place');
    const due = await hot.claimDue(tenant.id, Date.now() + 2 * 3600_000, 1000, 100);
    assert.ok(!due.includes(scheduled), 'out of the due index');
    assert.ok(due.includes(keptScheduled));
    const left = (await db.pool.query<{ from_number: string }>('SELECT from_number::text FROM callin_request')).rows.map((r) => r.from_number);
    assert.deepEqual(left, [D.slice(1)], "only the other number's call-in request is left");

    const audit = (await db.pool.query(`SELECT subject_hash, detail FROM audit_event WHERE action = 'gdpr.forget' AND subject_hash = $1`, [result.subject]))
      .rows;
    assert.equal(audit.length, 1, 'one audit event for the whole erasure');
    assert.deepEqual({ callbacks: audit[0].detail.callbacks, callInRequests: audit[0].detail.callInRequests }, { callbacks: 2, callInRequests: 2 });
    assert.ok(!JSON.stringify(audit).includes('5550174'), 'the audit trail does not hold the number');
  } finally {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
});

test('the CLI exports, forgets (Redis included) and purges against the real database', async () => {
  const redis = await connectRedis();
  const prefix = testPrefix();
  const env = {
    ...process.env,
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: db.schema,
    LOG_LEVEL: 'silent',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
  };
  try {
    const id = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: '+12125550173' }, key())).body.data.id as string;
    await run(process.execPath, ['bin/ges.mjs', 'recover'], { env });
    const hot = new RedisHotState(redis, prefix);
    const sales = (await db.pool.query(`SELECT id FROM callback_service WHERE name = 'sales'`)).rows[0].id as number;
    assert.ok(await hot.position(tenant.id, sales, id), 'queued in Redis');
    const exported = await run(process.execPath, ['bin/ges.mjs', 'gdpr', 'export', 'privacy', '+12125550173'], { env });
    assert.equal(JSON.parse(exported.stdout).callbacks.length, 1);
    const forgot = await run(process.execPath, ['bin/ges.mjs', 'gdpr', 'forget', 'privacy', '+12125550173'], { env });
    assert.match(
      forgot.stdout,
      /^erased 1 callback\(s\) and 0 call-in request\(s\) of privacy; 1 unfinished callback\(s\) taken out of the hot state; audit subject [A-Za-z0-9_-]+\n$/,
    );
    assert.ok(!forgot.stdout.includes('5550173'));
    assert.equal(await hot.position(tenant.id, sales, id), undefined, 'gone from Redis too');
    const purged = await run(process.execPath, ['bin/ges.mjs', 'purge'], { env });
    assert.match(purged.stdout, /^dropped \d+ expired day\(s\); removed \d+ idempotency key\(s\), \d+ slot counter\(s\), \d+ call-in request\(s\)/);
    await assert.rejects(run(process.execPath, ['bin/ges.mjs', 'gdpr', 'export', 'nobody', '+12125550173'], { env }), /no tenant named nobody/);
  } finally {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
});
