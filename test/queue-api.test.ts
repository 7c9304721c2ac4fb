import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, type TestDb, type TestTenant } from './support/test-env.ts';

/** estimated-wait-time and queue-status as a client sees them when no estimate can be made yet. */
let db: TestDb;
let api: FastifyInstance;
let tenant: TestTenant;

before(async () => {
  db = await createTestDb();
  tenant = await createTestTenant(db, undefined, { sales: {}, night: { immediateEnabled: false, scheduledEnabled: false } });
  api = await buildTestApi(db);
});
after(async () => {
  await api.close();
  await db.close();
});

const get = (url: string) => api.inject({ method: 'GET', url, headers: { 'x-api-key': tenant.apiKey } });

test('estimated-wait-time answers one item per queue, -1 with a message when there is no estimate', async () => {
  const res = await get('/engagement/v3/estimated-wait-time?virtual-queues=sales,nosuch&mode=mode1');
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.status.code, 200);
  assert.equal(body.data.length, 2);
  assert.equal(body.data[0].virtualQueue, 'sales');
  assert.equal(body.data[0].estimatedWaitTime, -1);
  assert.match(body.data[0].message, /no agents|no interactions/);
  assert.deepEqual(body.data[1], { virtualQueue: 'nosuch', estimatedWaitTime: -1, resultCode: 3, message: 'not a callback service of this tenant' });
});

test('a mode other than mode1-3 and a missing queue list are 400 in the GES envelope', async () => {
  const bad = await get('/engagement/v3/estimated-wait-time?virtual-queues=sales&mode=mode9');
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().status.message, /mode/);
  assert.equal((await get('/engagement/v3/estimated-wait-time')).statusCode, 400);
  assert.equal((await get('/engagement/v3/estimated-wait-time?virtual-queues=,,')).statusCode, 400);
});

test('queue-status: no agents gives -1 and no immediate offer; scheduled follows the option; unknown queue 400', async () => {
  const res = await get('/engagement/v3/callbacks/queue-status/sales');
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json().data, { ewt: -1, offerImmediateCallback: false, offerScheduledCallback: true });
  const night = await get('/engagement/v3/callbacks/queue-status/night');
  assert.deepEqual(night.json().data, { ewt: -1, offerImmediateCallback: false, offerScheduledCallback: false });
  const unknown = await get('/engagement/v3/callbacks/queue-status/nosuch');
  assert.equal(unknown.statusCode, 400);
  assert.equal(unknown.json().status.errorCode, 'GES_SERVICE_UNKNOWN');
});
