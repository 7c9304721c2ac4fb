import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, inMinutes, post, TEST_DATABASE_URL, type TestDb, type TestTenant } from './support/test-env.ts';
import { exportNumber, forgetNumber, subjectHash } from '../src/app/data-protection.ts';

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
  const scheduled = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: A, desiredTime: inMinutes(90), userData: big }, key())).body.data.id;
  const immediate = (await post(app, '/callbacks/create', { serviceName: 'support', phoneNumber: '(212) 555-0171', userData: { orderId: 'X1' } }, key())).body.data.id;
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
  assert.ok(!JSON.stringify(audit).includes('5550171'), 'the audit trail does not hold the number');
});

test('the CLI exports, forgets and purges against the real database', async () => {
  const env = { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: db.schema, LOG_LEVEL: 'silent' };
  await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: '+12125550173' }, key());
  const exported = await run(process.execPath, ['bin/ges.mjs', 'gdpr', 'export', 'privacy', '+12125550173'], { env });
  assert.equal(JSON.parse(exported.stdout).callbacks.length, 1);
  const forgot = await run(process.execPath, ['bin/ges.mjs', 'gdpr', 'forget', 'privacy', '+12125550173'], { env });
  assert.match(forgot.stdout, /^erased 1 callback\(s\) of privacy; audit subject [A-Za-z0-9_-]+\n$/);
  assert.ok(!forgot.stdout.includes('5550173'));
  const purged = await run(process.execPath, ['bin/ges.mjs', 'purge'], { env });
  assert.match(purged.stdout, /^dropped \d+ expired day\(s\)/);
  await assert.rejects(run(process.execPath, ['bin/ges.mjs', 'gdpr', 'export', 'nobody', '+12125550173'], { env }), /no tenant named nobody/);
});
