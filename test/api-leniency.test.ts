import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, inMinutes, post, type TestDb, type TestTenant } from './support/test-env.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { findTenantByName, addApiKey } from '../src/store/tenant-store.ts';
import { createLogger } from '../src/logging/logger.ts';
import { serializeError } from '../src/logging/error-serializer.ts';
import { buildConsoleApp } from './support/console-env.ts';

/**
 * The leniency rules (README "Leniency rules") and the hostile inputs of issue 11, each against a
 * real Postgres-backed API: what a real client sends is understood, what a hostile one sends is a
 * clear 400 in the envelope with nothing stored.
 */

let db: TestDb;
let app: FastifyInstance;
let acme: TestTenant;
const closedKey = 'leniency-closed-key-000000000001';

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  acme = await createTestTenant(db, 'lenient', {
    sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 },
    throttled: { inQueueChecking: 'false', requestsPerNumberPer24h: 1 },
  });
  // Closed today and tomorrow (UTC), open every other day: "now" is always out of hours.
  const today = new Date();
  const day = (offset: number) => new Date(today.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
  const allDay = ['00:00-24:00'];
  await applyTenantConfig(db.pool, {
    tenant: 'closedco',
    businessHours: [
      {
        name: 'closed-now',
        timeZone: 'UTC',
        weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay },
        specialDays: [
          { date: day(0), closed: true },
          { date: day(1), closed: true },
        ],
      },
    ],
    services: [
      { name: 'keep', businessHours: 'closed-now', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } },
      { name: 'refuse', businessHours: 'closed-now', options: { rejectOutOfHours: true } },
    ],
  });
  await addApiKey(db.pool, (await findTenantByName(db.pool, 'closedco'))!.id, closedKey);
});
after(async () => {
  await app.close();
  await db.close();
});

const h = () => ({ 'x-api-key': acme.apiKey });
let seq = 0;
const phone = () => `+1415555${String(1000 + ++seq).slice(-4)}`;
const count = async () => (await db.pool.query('SELECT count(*)::int AS n FROM callback')).rows[0].n as number;
const get = (url: string, apiKey = acme.apiKey) => app.inject({ method: 'GET', url, headers: { 'x-api-key': apiKey } });
const retrieve = async (id: string, apiKey = acme.apiKey) => (await post(app, '/callbacks/retrieve', { id }, { 'x-api-key': apiKey })).body.data;

describe('what real clients send is understood', () => {
  test('null means absent: desiredTime, userData and pushTargets', async () => {
    const res = await post(
      app,
      '/callbacks/create',
      { serviceName: 'sales', phoneNumber: phone(), desiredTime: null, userData: null, pushTargets: null, priority: null },
      h(),
    );
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    const d = await retrieve(res.body.data.id);
    assert.deepEqual([d.callbackState, d.cbOfferType, d.userData, d.pushTargets], ['QUEUED', 'ASAP', undefined, undefined]);
  });

  test('enum values in any case (push channel fcm), a fractional priority rounded, a reporting cbOfferType never refused', async () => {
    const res = await post(
      app,
      '/callbacks/create',
      {
        serviceName: 'sales',
        phoneNumber: phone(),
        priority: 2.6,
        pushTargets: [{ channel: 'fcm', target: 't1' }],
        pushChannel: 'Fcm',
        pushTarget: 't2',
        cbOfferType: 'whenever',
      },
      h(),
    );
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    const d = await retrieve(res.body.data.id);
    assert.equal(d.priority, 3);
    assert.deepEqual(d.pushTargets, [
      { channel: 'FCM', target: 't1' },
      { channel: 'FCM', target: 't2' },
    ]);
    assert.equal(d.cbOfferType, 'ASAP', 'derived from the callback type');
  });

  test('a desiredTime within the execution buffer is an immediate callback that takes no slot', async () => {
    const res = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone(), desiredTime: inMinutes(1) }, h());
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    const d = await retrieve(res.body.data.id);
    assert.equal(d.callbackState, 'QUEUED');
    const slots = await db.pool.query('SELECT slot_at FROM callback WHERE id = $1', [res.body.data.id]);
    assert.equal(slots.rows[0].slot_at, null);
    const strict = await post(
      app,
      '/callbacks/create',
      { serviceName: 'sales', phoneNumber: phone(), desiredTime: inMinutes(1), alwaysCheckCapacity: true },
      h(),
    );
    assert.equal((await retrieve(strict.body.data.id)).callbackState, 'SCHEDULED', 'alwaysCheckCapacity treats every desiredTime as scheduled');
  });

  test('boolean and enum query values in any case, 1/0 booleans, and mis-cased parameter names are honoured', async () => {
    const start = inMinutes(60);
    const base = `/engagement/v3/callbacks/availability/sales?start=${start}&numberOfDays=1`;
    const canonical = (await get(`${base}&maxTimeSlots=2&reportBusy=true`)).json();
    for (const variant of ['maxtimeslots=2&reportBusy=TRUE', 'MAXTIMESLOTS=2&reportbusy=1', 'max-time-slots=2&report-busy=True']) {
      const res = await get(`${base}&${variant}`);
      assert.equal(res.statusCode, 200, `${variant}: ${res.body}`);
      assert.deepEqual(res.json().data, canonical.data, variant);
    }
    assert.equal(canonical.data.slots.length, 2, 'maxTimeSlots honoured');
    const ewt = await get('/engagement/v3/estimated-wait-time?virtual-queues=sales&mode=MODE2&include-calls-on-hold=1');
    assert.equal(ewt.statusCode, 200, ewt.body);
    assert.equal(ewt.json().data[0].resultCode, 1, 'no agents logged in');
    const cacheBuster = await get(`/engagement/v3/callbacks/open-for/sales?_=${Date.now()}`);
    assert.equal(cacheBuster.statusCode, 200, "the generated client's cache buster is allowed");
  });

  test('an unknown or doubly given query parameter is refused, never ignored', async () => {
    const unknown = await get('/engagement/v3/callbacks/availability/sales?maxSlots=2');
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().status.message, /unknown parameter "maxSlots"; this operation takes .*maxTimeSlots/);
    const twice = await get('/engagement/v3/callbacks/availability/sales?maxTimeSlots=2&maxtimeslots=3');
    assert.equal(twice.statusCode, 400);
    assert.match(twice.json().status.message, /given twice/);
    const notBoolean = await get('/engagement/v3/callbacks/availability/sales?reportBusy=yes');
    assert.equal(notBoolean.statusCode, 400);
  });

  test('the older single-queue EWT path and the /ges ingress prefix answer JSON in the envelope', async () => {
    const one = await get('/engagement/v3/estimated-wait-time/virtual-queues/sales?mode=mode1');
    assert.equal(one.statusCode, 200, one.body);
    assert.deepEqual(Object.keys(one.json().data).sort(), ['estimatedWaitTime', 'message', 'resultCode', 'virtualQueue']);
    const prefixed = await get('/ges/engagement/v3/callbacks/queue-status/sales');
    assert.equal(prefixed.statusCode, 200, prefixed.body);
    assert.equal(typeof prefixed.json().data.offerScheduledCallback, 'boolean');
    const created = await app.inject({
      method: 'POST',
      url: '/ges/engagement/v3/callbacks/create',
      headers: { ...h(), 'content-type': 'application/json' },
      payload: { serviceName: 'sales', phoneNumber: phone() },
    });
    assert.equal(created.statusCode, 200, created.body);
    const missing = await get('/ges/engagement/v3/no/such/path');
    assert.equal(missing.statusCode, 404);
    assert.match(String(missing.headers['content-type']), /application\/json/);
    assert.equal(missing.json().status.errorCode, 'GES_ROUTE_NOT_FOUND');
  });
});

test('with the console mounted under /ges, /ges/engagement/v3 is still the API, and its unknown paths JSON', async () => {
  const c = await buildConsoleApp(db);
  try {
    const status = await c.app.inject({ method: 'GET', url: '/ges/engagement/v3/callbacks/queue-status/sales', headers: h() });
    assert.equal(status.statusCode, 200, status.body);
    const missing = await c.app.inject({ method: 'GET', url: '/ges/engagement/v3/callbacks/nope', headers: h() });
    assert.equal(missing.statusCode, 404);
    assert.match(String(missing.headers['content-type']), /application\/json/);
    assert.equal(missing.json().status.errorCode, 'GES_ROUTE_NOT_FOUND');
  } finally {
    await c.app.close();
  }
});

describe('capacity and throttle answers', () => {
  test('the per-number throttle 429 carries data.slots like a capacity 429', async () => {
    const number = phone();
    assert.equal((await post(app, '/callbacks/create', { serviceName: 'throttled', phoneNumber: number }, h())).statusCode, 200);
    const second = await post(app, '/callbacks/create', { serviceName: 'throttled', phoneNumber: number }, h());
    assert.equal(second.statusCode, 429);
    assert.equal(second.body.status.errorCode, 'GES_NUMBER_THROTTLED');
    assert.deepEqual(second.body.data, { slots: {} });
  });
});

describe('immediate callbacks while closed', () => {
  test('kept for the opening (SCHEDULED, never queued now), or refused where the service rejects out of hours; queue-status agrees', async () => {
    const status = (await get('/engagement/v3/callbacks/queue-status/keep', closedKey)).json().data;
    assert.equal(status.offerImmediateCallback, false);
    const kept = await post(app, '/callbacks/create', { serviceName: 'keep', phoneNumber: phone() }, { 'x-api-key': closedKey });
    assert.equal(kept.statusCode, 200, JSON.stringify(kept.body));
    const d = await retrieve(kept.body.data.id, closedKey);
    assert.equal(d.callbackState, 'SCHEDULED');
    assert.equal(d.cbOfferType, 'ASAP', 'reported as the immediate request it was');
    assert.ok(Date.parse(d.desiredTime) >= Date.now() + 86_400_000, `kept for the opening after tomorrow, got ${d.desiredTime}`);
    assert.equal(kept.body.data.desiredTime, d.desiredTime, 'the answer says when');
    const before = await count();
    const refused = await post(app, '/callbacks/create', { serviceName: 'refuse', phoneNumber: phone() }, { 'x-api-key': closedKey });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.body.status.errorCode, 'GES_OUTSIDE_BUSINESS_HOURS');
    assert.equal(await count(), before);
  });
});

describe('hostile input is a 400 in the envelope, nothing stored', () => {
  const refusals: [string, string, RegExp][] = [
    [
      'priority 1e309 (a JSON number beyond double)',
      '{"serviceName":"sales","phoneNumber":"+14155550100","priority":1e309}',
      /priority must be a finite number/,
    ],
    ['priority "Infinity"', '{"serviceName":"sales","phoneNumber":"+14155550100","priority":"Infinity"}', /priority must be a finite number/],
    ['priority "1e309"', '{"serviceName":"sales","phoneNumber":"+14155550100","priority":"1e309"}', /priority must be a finite number/],
    ['a lone high surrogate in userData', '{"serviceName":"sales","phoneNumber":"+14155550100","userData":{"note":"hi \\ud83d"}}', /surrogate/],
    ['a lone low surrogate in a userData key', '{"serviceName":"sales","phoneNumber":"+14155550100","userData":{"\\ude00":1}}', /surrogate/],
    ['a lone surrogate in inboundVQ', '{"serviceName":"sales","phoneNumber":"+14155550100","inboundVQ":"\\udfff"}', /surrogate/],
  ];
  for (const [name, payload, message] of refusals) {
    test(name, async () => {
      const before = await count();
      const res = await post(app, '/callbacks/create', payload, h());
      assert.equal(res.statusCode, 400, JSON.stringify(res.body));
      assert.equal(res.body.status.errorCode, 'GES_VALIDATION');
      assert.match(res.body.status.message, message);
      assert.equal(await count(), before);
    });
  }

  test('"Infinity" and "1e309" never pass the find limit or a query integer', async () => {
    for (const limit of ['"Infinity"', '"1e309"', '1e309']) {
      const res = await post(app, '/callbacks/find', `{"limit":${limit}}`, h());
      assert.equal(res.statusCode, 400, `${limit}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.status.message, /limit must be a finite number/);
    }
    for (const v of ['Infinity', '1e309', '-Infinity', 'NaN']) {
      const res = await get(`/engagement/v3/callbacks/availability/sales?maxTimeSlots=${v}`);
      assert.equal(res.statusCode, 400, `${v}: ${res.body}`);
    }
  });

  test('a service name longer than 100 characters is refused when the service is created', async () => {
    await assert.rejects(applyTenantConfig(db.pool, { tenant: 'lenient', services: [{ name: 'x'.repeat(101) }] }), /100/);
    const fits = 'y'.repeat(100);
    await applyTenantConfig(db.pool, { tenant: 'lenient', services: [{ name: fits }] });
    for (const path of [`/callbacks/availability/${fits}`, `/callbacks/open-for/${fits}`, `/callbacks/queue-status/${fits}`]) {
      const res = await get(`/engagement/v3${path}`);
      assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
    }
  });

  test('no database error text with user values reaches the log', async () => {
    const secret = 'order-4111-1111-1111-1111';
    let caught: unknown;
    try {
      await db.pool.query('SELECT $1::jsonb', [`{"note":"\\ud800 ${secret}"}`]);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught, 'Postgres refused the lone surrogate');
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    logger.error({ err: caught }, 'unhandled error');
    const text = lines.join('');
    assert.ok(!text.includes(secret) && !text.includes('4111'), text);
    assert.match(text, /"code":"22P02"|"code":"22P05"|"code":"22023"/, 'the SQLSTATE is kept');
    const serialized = serializeError(caught) as Record<string, unknown>;
    assert.equal(serialized.type, 'DatabaseError');
    assert.equal(serialized.detail, undefined);

    // Carried by another error, as a cause or among an AggregateError's: pino's standard form would
    // append the cause's message (and a wrapper may quote it), so the chain is scrubbed as well.
    const quoting = await db.pool.query('SELECT $1::int', [secret]).catch((err: unknown) => err);
    assert.match((quoting as Error).message, new RegExp(secret), 'this database error quotes the value in its message');
    const wrapped = new Error(`could not store the callback: ${(quoting as Error).message}`, { cause: quoting });
    const aggregate = new AggregateError([caught, new Error('other', { cause: quoting })], 'several attempts failed');
    lines.length = 0;
    logger.error({ err: wrapped }, 'unhandled error');
    logger.warn({ err: aggregate }, 'retries failed');
    logger.warn(wrapped, 'as the first argument');
    const chained = lines.join('');
    assert.ok(!chained.includes(secret) && !chained.includes('4111'), chained);
    const [first] = lines.map((l) => JSON.parse(l) as { err: { type: string; cause: { type: string; code: string } } });
    assert.deepEqual([first!.err.type, first!.err.cause.type, first!.err.cause.code], ['Error', 'DatabaseError', '22P02']);
    const plain = serializeError(new Error('outer', { cause: new Error('inner') })) as { message: string };
    assert.equal(plain.message, 'outer: inner', 'errors without a database error keep pino’s standard form');
  });
});
