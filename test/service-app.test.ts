import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { buildInternalApp } from '../src/http/internal-app.ts';
import { buildApiApp } from '../src/main/api-app-assembly.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createPool } from '../src/store/db.ts';
import { DatabaseHealth } from '../src/store/database-health.ts';
import { createTestDb, createTestTenant, TEST_DATABASE_URL, type TestDb } from './support/test-env.ts';

let db: TestDb;
before(async () => {
  db = await createTestDb();
});
after(() => db.close());

test('readiness needs the database and every migration, and turns 503 at shutdown', async () => {
  let shuttingDown = false;
  const app = await buildInternalApp({
    pool: db.pool,
    logger: createLogger('silent'),
    isShuttingDown: () => shuttingDown,
    adminToken: '',
    databaseHealth: new DatabaseHealth(db.pool),
  });
  assert.equal((await app.inject('/health/live')).statusCode, 200);
  const ready = await app.inject('/health/ready');
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: 'UP', checks: { database: 'UP', migrations: 'UP' } });
  shuttingDown = true;
  assert.equal((await app.inject('/health/ready')).statusCode, 503);
  await app.close();

  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const bare = createPool({ url: TEST_DATABASE_URL, max: 1, schema });
  try {
    const unmigrated = await buildInternalApp({
      pool: bare,
      logger: createLogger('silent'),
      isShuttingDown: () => false,
      adminToken: '',
      databaseHealth: new DatabaseHealth(bare),
    });
    const res = await unmigrated.inject('/health/ready');
    assert.equal(res.statusCode, 503);
    assert.match(res.json().checks.migrations, /pending: 0001_core\.sql/);
    await unmigrated.close();
  } finally {
    await bare.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }

  const dead = createPool({ url: 'postgres://root@127.0.0.1:1/none', max: 1 });
  const down = await buildInternalApp({
    pool: dead,
    logger: createLogger('silent'),
    isShuttingDown: () => false,
    adminToken: '',
    databaseHealth: new DatabaseHealth(dead),
  });
  assert.equal((await down.inject('/health/ready')).statusCode, 503);
  await down.close();
  await dead.end();
});

test('logs carry the correlation id and never a phone number, userData or the API key', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const tenant = await createTestTenant(db, 'logged');
  const app = await buildApiApp({
    pool: db.pool,
    callbacks: new CallbackService(db.pool, db.clock),
    availability: new AvailabilityService(db.pool, db.clock),
    logger: createLogger('info', sink),
    bodyLimitBytes: 65536,
  });
  const res = await app.inject({
    method: 'POST',
    url: '/engagement/v3/callbacks/create?phone=4155559876',
    headers: { 'x-api-key': tenant.apiKey, 'content-type': 'application/json' },
    payload: { serviceName: 'sales', phoneNumber: '+1 415 555 9876', userData: { secretNote: 'card-4242' } },
  });
  assert.equal(res.statusCode, 200);
  const corrId = res.json().status.corrId;
  const log = lines.join('');
  assert.ok(lines.length >= 2);
  assert.ok(
    lines.every((l) => JSON.parse(l).corrId === corrId),
    'every request line has the corrId',
  );
  assert.ok(!/555.?9876|4155559876/.test(log), 'no phone number in the log');
  assert.ok(!log.includes('card-4242'), 'no userData in the log');
  assert.ok(!log.includes(tenant.apiKey), 'no API key in the log');
  assert.match(log, /"phone":"\+14\*+76"/, 'the masked number is logged');
  await app.close();
});

test('interactive API docs are served without any external resource', async () => {
  const app = await buildApiApp({
    pool: db.pool,
    callbacks: new CallbackService(db.pool, db.clock),
    availability: new AvailabilityService(db.pool, db.clock),
    logger: createLogger('silent'),
    bodyLimitBytes: 65536,
  });
  const page = await app.inject('/ges/docs/');
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /html/);
  assert.ok(!/https?:\/\/(?!localhost)[^"']*\.(js|css)/.test(page.body), 'assets come from GES itself');
  await app.close();
});

test('an unreachable database makes the API answer 503 in the envelope, not 500', async () => {
  const dead = createPool({ url: 'postgres://root@127.0.0.1:1/none', max: 1 });
  const app = await buildApiApp({
    pool: dead,
    callbacks: new CallbackService(dead, db.clock),
    availability: new AvailabilityService(dead, db.clock),
    logger: createLogger('silent'),
    bodyLimitBytes: 65536,
  });
  const res = await app.inject({
    method: 'POST',
    url: '/engagement/v3/callbacks/retrieve',
    headers: { 'x-api-key': 'any-key-at-all-0001', 'content-type': 'application/json' },
    payload: { id: 'x' },
  });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().status.errorCode, 'GES_UNAVAILABLE');
  assert.ok(res.json().status.corrId);
  await app.close();
  await dead.end();
});
