import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, inMinutes, post, type TestDb, type TestTenant } from './support/test-env.ts';

let db: TestDb;
let app: FastifyInstance;
let acme: TestTenant;
let globex: TestTenant;

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  acme = await createTestTenant(db, 'acme', {
    sales: {},
    strict: { inQueueChecking: 'strict' },
    unlimited: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 },
    throttled: { inQueueChecking: 'false', requestsPerNumberPer24h: 3 },
    'only-scheduled': { immediateEnabled: false },
    'only-immediate': { scheduledEnabled: false },
    push: { callDirection: 'USERORIGINATED' },
    'uk-open': { defaultCountry: 'GB', disallowPremiumNumbers: false, disallowImpossibleNumbers: false },
  });
  globex = await createTestTenant(db, 'globex', { sales: {} });
});

after(async () => {
  await app.close();
  await db.close();
});

const key = (t: TestTenant) => ({ 'x-api-key': t.apiKey });
let numberSeq = 0;
/** A distinct valid US number per call, so guards on one test never refuse another. */
function freshNumber(): string {
  numberSeq += 1;
  return `+1212555${String(1000 + numberSeq).slice(-4)}`;
}

describe('POST /callbacks/create', () => {
  test('an immediate callback is QUEUED and answers in the GES envelope', async () => {
    const res = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber() }, key(acme));
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.status.code, 200);
    assert.equal(res.body.status.message, 'Successful');
    assert.equal(res.body.status.corrId, res.headers['x-correlation-id']);
    assert.match(res.body.data.id, /^[0-9a-f-]{36}$/);
    const got = await post(app, '/callbacks/retrieve', { id: res.body.data.id }, key(acme));
    assert.equal(got.statusCode, 200);
    assert.equal(got.body.data.callbackState, 'QUEUED');
    assert.equal(got.body.data.cbOfferType, 'ASAP');
    assert.equal(got.body.data.callbackReason, undefined);
  });

  test('the tutorial body (desiredTime in UTC with milliseconds) books a SCHEDULED callback', async () => {
    const desiredTime = new Date(Math.ceil((Date.now() + 86_400_000) / 1000) * 1000).toISOString();
    const phone = freshNumber();
    const res = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone, desiredTime }, key(acme));
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    const got = await post(app, '/callbacks/retrieve', { id: res.body.data.id }, key(acme));
    assert.deepEqual(
      {
        state: got.body.data.callbackState,
        desiredTime: got.body.data.desiredTime,
        phoneNumber: got.body.data.phoneNumber,
        cbOfferType: got.body.data.cbOfferType,
      },
      { state: 'SCHEDULED', desiredTime, phoneNumber: phone, cbOfferType: 'SCHEDULED' },
    );
  });

  test('every documented field is stored and returned', async () => {
    const body = {
      serviceName: 'sales',
      phoneNumber: '(212) 555-0199',
      desiredTime: inMinutes(90),
      cbOfferType: 'COMBINED_SCHEDULED_AND_ASAP',
      language: 'fr-CA',
      inboundVQ: 'VQ_Sales_In',
      offerThreshold: 300,
      channel: 'web',
      offerTiming: 'ON-HOURS',
      cbOriginationIxnId: 'ixn-42',
      surveyRP: '7001',
      priority: 5,
      routePoint: '8001@SIP',
      captchaToken: 'tok',
      pushTargets: [{ channel: 'FCM', target: 'reg-1' }],
      pushChannel: 'FCM',
      pushTarget: 'reg-2',
      alwaysCheckCapacity: true,
      userData: { orderId: 'A-1', nested: { x: [1, 2] } },
    };
    const res = await post(app, '/callbacks/create', body, key(acme));
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    const d = (await post(app, '/callbacks/retrieve', { id: res.body.data.id }, key(acme))).body.data;
    assert.equal(d.phoneNumber, '+12125550199', 'national format normalised with the service country');
    for (const f of [
      'cbOfferType',
      'language',
      'inboundVQ',
      'offerThreshold',
      'channel',
      'offerTiming',
      'cbOriginationIxnId',
      'surveyRP',
      'priority',
      'routePoint',
      'alwaysCheckCapacity',
    ] as const) {
      assert.deepEqual(d[f], body[f], f);
    }
    assert.deepEqual(d.pushTargets, [
      { channel: 'FCM', target: 'reg-1' },
      { channel: 'FCM', target: 'reg-2' },
    ]);
    assert.deepEqual(d.userData, body.userData);
    // The token is spent by the create (its digest refuses replays) and no read answers it: not kept with the callback.
    const stored = await db.pool.query(`SELECT extras ? 'captchaToken' AS kept FROM callback WHERE id = $1`, [res.body.data.id]);
    assert.equal(stored.rows[0].kept, false);
  });

  test('userData keys that are not JavaScript identifiers are dropped and named in the response', async () => {
    const res = await post(
      app,
      '/callbacks/create',
      {
        serviceName: 'sales',
        phoneNumber: freshNumber(),
        userData: { ok_1: 1, $fine: 2, 'not-ok': 3, '1st': 4, 'has space': 5, café: 6 },
      },
      key(acme),
    );
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.body.data.ignoredUserDataKeys.sort(), ['1st', 'has space', 'not-ok']);
    const d = (await post(app, '/callbacks/retrieve', { id: res.body.data.id }, key(acme))).body.data;
    assert.deepEqual(d.userData, { ok_1: 1, $fine: 2, café: 6 });
  });

  test('large userData survives storage in page-sized chunks intact, across a reschedule and in find', async () => {
    // Random text compresses little, so this spans several chunks; multi-byte characters included.
    const note = `é✓😀${randomBytes(24_000).toString('base64')}end`;
    const userData = { note, list: Array.from({ length: 50 }, (_, i) => ({ i, v: 'x'.repeat(i) })) };
    const phone = freshNumber();
    const res = await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: phone, desiredTime: inMinutes(30), userData }, key(acme));
    assert.equal(res.statusCode, 200, JSON.stringify(res.body.status));
    const id = res.body.data.id;
    const chunks = await db.pool.query('SELECT count(*)::int AS n FROM callback_data WHERE callback_id = $1', [id]);
    assert.ok(chunks.rows[0].n >= 3, 'stored out of line');
    assert.deepEqual((await post(app, '/callbacks/retrieve', { id }, key(acme))).body.data.userData, userData);
    await post(app, '/callbacks/reschedule', { id, desiredTime: inMinutes(6 * 24 * 60) }, key(acme));
    assert.deepEqual((await post(app, '/callbacks/retrieve', { id }, key(acme))).body.data.userData, userData);
    const found = (await post(app, '/callbacks/find', { phoneNumber: phone }, key(acme))).body.data.callbacks;
    assert.deepEqual(found[0].userData, userData);
    const moved = await db.pool.query(
      `SELECT count(DISTINCT tableoid)::int AS parts, min(desired_at) = max(desired_at) AS same FROM callback_data WHERE callback_id = $1`,
      [id],
    );
    assert.deepEqual(moved.rows[0], { parts: 1, same: true });
  });

  const refusals: [string, Record<string, unknown>, number, string, RegExp][] = [
    ['missing serviceName', { phoneNumber: '+12125550100' }, 400, 'GES_VALIDATION', /serviceName/],
    ['missing phoneNumber', { serviceName: 'sales' }, 400, 'GES_VALIDATION', /phoneNumber/],
    ['empty phoneNumber', { serviceName: 'sales', phoneNumber: '' }, 400, 'GES_VALIDATION', /phoneNumber/],
    ['unknown service', { serviceName: 'nope', phoneNumber: '+12125550100' }, 400, 'GES_SERVICE_UNKNOWN', /serviceName "nope"/],
    ['letters in the number', { serviceName: 'sales', phoneNumber: '+1 212 CALL NOW' }, 400, 'GES_PHONE_INVALID', /phoneNumber/],
    ['impossible number', { serviceName: 'sales', phoneNumber: '+1212555' }, 400, 'GES_PHONE_INVALID', /not a possible number/],
    ['premium number', { serviceName: 'sales', phoneNumber: '+19005550123' }, 400, 'GES_PHONE_PREMIUM', /premium/],
    [
      'desiredTime without zone',
      { serviceName: 'sales', phoneNumber: '+12125550100', desiredTime: '2030-06-10T22:05:00.000' },
      400,
      'GES_DESIRED_TIME_INVALID',
      /desiredTime/,
    ],
    ['desiredTime not a date', { serviceName: 'sales', phoneNumber: '+12125550100', desiredTime: 'tomorrow' }, 400, 'GES_DESIRED_TIME_INVALID', /desiredTime/],
    [
      'desiredTime at the end of time',
      { serviceName: 'sales', phoneNumber: '+12125550100', desiredTime: '+275760-09-13T00:00:00Z' },
      400,
      'GES_DESIRED_TIME_INVALID',
      /between 1970 and 2199/,
    ],
    [
      'desiredTime in the past',
      { serviceName: 'sales', phoneNumber: '+12125550100', desiredTime: '2018-06-10T22:05:00.000Z' },
      400,
      'GES_DESIRED_TIME_PAST',
      /past/,
    ],
    [
      'desiredTime beyond the horizon',
      { serviceName: 'sales', phoneNumber: '+12125550100', desiredTime: inMinutes(15 * 24 * 60) },
      400,
      'GES_DESIRED_TIME_BEYOND_HORIZON',
      /14 days/,
    ],
    ['immediate on a scheduled-only service', { serviceName: 'only-scheduled', phoneNumber: '+12125550100' }, 400, 'GES_IMMEDIATE_DISABLED', /immediate/],
    [
      'scheduled on an immediate-only service',
      { serviceName: 'only-immediate', phoneNumber: '+12125550100', desiredTime: inMinutes(60) },
      400,
      'GES_SCHEDULED_DISABLED',
      /scheduled/,
    ],
    ['USERORIGINATED without push target', { serviceName: 'push', phoneNumber: '+12125550100' }, 400, 'GES_PUSH_TARGET_REQUIRED', /pushTargets/],
    ['pushChannel without pushTarget', { serviceName: 'sales', phoneNumber: '+12125550100', pushChannel: 'FCM' }, 400, 'GES_VALIDATION', /pushTarget/],
    [
      'push channel other than FCM',
      { serviceName: 'sales', phoneNumber: '+12125550100', pushTargets: [{ channel: 'APNS', target: 'x' }] },
      400,
      'GES_VALIDATION',
      /channel/,
    ],
    [
      'priority "Infinity"',
      { serviceName: 'sales', phoneNumber: '+12125550100', priority: 'Infinity' },
      400,
      'GES_VALIDATION',
      /priority must be a finite number/,
    ],
    [
      'a lone surrogate in userData',
      { serviceName: 'sales', phoneNumber: '+12125550100', userData: { note: 'ok \ud83d' } },
      400,
      'GES_VALIDATION',
      /surrogate/,
    ],
    ['userData not an object', { serviceName: 'sales', phoneNumber: '+12125550100', userData: 'x' }, 400, 'GES_VALIDATION', /userData/],
  ];
  for (const [name, body, http, code, message] of refusals) {
    test(`refuses ${name} with ${http} ${code} and stores nothing`, async () => {
      const before = (await db.pool.query('SELECT count(*)::int AS n FROM callback')).rows[0].n;
      const res = await post(app, '/callbacks/create', body, key(acme));
      assert.equal(res.statusCode, http, JSON.stringify(res.body));
      assert.equal(res.body.status.code, http);
      assert.equal(res.body.status.errorCode, code);
      assert.match(res.body.status.message, message);
      assert.ok(res.body.status.corrId);
      assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM callback')).rows[0].n, before);
    });
  }

  test('a service that allows them accepts impossible and premium numbers, read in its own country', async () => {
    const res = await post(app, '/callbacks/create', { serviceName: 'uk-open', phoneNumber: '09098790000' }, key(acme));
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    const d = (await post(app, '/callbacks/retrieve', { id: res.body.data.id }, key(acme))).body.data;
    assert.equal(d.phoneNumber, '+449098790000');
  });

  test('malformed JSON, a wrong media type and an oversized body are refused in the envelope', async () => {
    const bad = await post(app, '/callbacks/create', '{"serviceName":', key(acme));
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.body.status.errorCode, 'GES_BAD_JSON');
    const media = await app.inject({
      method: 'POST',
      url: '/engagement/v3/callbacks/create',
      headers: { ...key(acme), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    assert.equal(media.statusCode, 415);
    assert.equal(media.json().status.errorCode, 'GES_UNSUPPORTED_MEDIA_TYPE');
    const big = await post(
      app,
      '/callbacks/create',
      { serviceName: 'sales', phoneNumber: freshNumber(), userData: { blob: 'x'.repeat(300 * 1024) } },
      key(acme),
    );
    assert.equal(big.statusCode, 413);
    assert.equal(big.body.status.code, 413);
    assert.equal(big.body.status.errorCode, 'GES_BODY_TOO_LARGE');
  });
});

describe('authentication and tenancy', () => {
  test('a missing or unknown X-API-Key is 401', async () => {
    const none = await post(app, '/callbacks/retrieve', { id: 'x' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.body.status.errorCode, 'GES_API_KEY_MISSING');
    const wrong = await post(app, '/callbacks/retrieve', { id: 'x' }, { 'x-api-key': 'ges_not-a-real-key' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.body.status.errorCode, 'GES_API_KEY_INVALID');
  });

  test('the header name is case-insensitive', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/engagement/v3/callbacks/create',
      headers: { 'X-API-KEY': acme.apiKey, 'Content-Type': 'application/json' },
      payload: { serviceName: 'sales', phoneNumber: freshNumber() },
    });
    assert.equal(res.statusCode, 200);
  });

  test('a non-empty ccid or ContactCenterID header is refused with 400, an empty one is ignored', async () => {
    for (const header of ['ccid', 'ContactCenterID', 'contactcenterid']) {
      const res = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber() }, { ...key(acme), [header]: String(globex.id) });
      assert.equal(res.statusCode, 400, header);
      assert.equal(res.body.status.errorCode, 'GES_CCID_HEADER_REFUSED');
    }
    const empty = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber() }, { ...key(acme), ccid: '' });
    assert.equal(empty.statusCode, 200);
  });

  test("a key of one tenant never sees, cancels, reschedules or finds another tenant's callback", async () => {
    const phone = freshNumber();
    const created = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone, desiredTime: inMinutes(120) }, key(acme));
    const id = created.body.data.id;
    for (const path of ['/callbacks/retrieve', '/callbacks/cancel', '/callbacks/history']) {
      const res = await post(app, path, { id }, key(globex));
      assert.equal(res.statusCode, 404, path);
      assert.equal(res.body.status.errorCode, 'GES_CALLBACK_NOT_FOUND');
    }
    const moved = await post(app, '/callbacks/reschedule', { id, desiredTime: inMinutes(180) }, key(globex));
    assert.equal(moved.statusCode, 404);
    const found = await post(app, '/callbacks/find', { phoneNumber: phone }, key(globex));
    assert.deepEqual(found.body.data.callbacks, []);
    // Globex has its own "sales" service: creating there must not touch acme's.
    const own = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone }, key(globex));
    assert.equal(own.statusCode, 200);
    const still = await post(app, '/callbacks/retrieve', { id }, key(acme));
    assert.equal(still.body.data.callbackState, 'SCHEDULED');
  });
});

describe('retrieve and cancel', () => {
  test('unknown, malformed and empty ids', async () => {
    const unknown = await post(app, '/callbacks/retrieve', { id: '00000000-0000-4000-8000-000000000000' }, key(acme));
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.body.status.code, 404);
    const malformed = await post(app, '/callbacks/cancel', { id: "1' OR '1'='1" }, key(acme));
    assert.equal(malformed.statusCode, 404);
    const empty = await post(app, '/callbacks/retrieve', { id: '' }, key(acme));
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.body.status.errorCode, 'GES_VALIDATION');
    const missing = await post(app, '/callbacks/cancel', {}, key(acme));
    assert.equal(missing.statusCode, 400);
  });

  test('cancel completes with reason CANCELLED and records it in the history', async () => {
    const id = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber(), desiredTime: inMinutes(60) }, key(acme))).body.data.id;
    const res = await post(app, '/callbacks/cancel', { id }, key(acme));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.body.data, { id });
    const got = (await post(app, '/callbacks/retrieve', { id }, key(acme))).body.data;
    assert.equal(got.callbackState, 'COMPLETED');
    assert.equal(got.callbackReason, 'CANCELLED');
    const history = (await post(app, '/callbacks/history', { id }, key(acme))).body.data.events;
    assert.deepEqual(
      history.map((e: { state: string; reason?: string }) => [e.state, e.reason]),
      [
        ['SCHEDULED', undefined],
        ['COMPLETED', 'CANCELLED'],
      ],
    );
  });

  test('cancelling a COMPLETED or PROCESSING callback is a 400 that says why, and changes nothing', async () => {
    const done = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber() }, key(acme))).body.data.id;
    await post(app, '/callbacks/cancel', { id: done }, key(acme));
    const again = await post(app, '/callbacks/cancel', { id: done }, key(acme));
    assert.equal(again.statusCode, 400);
    assert.equal(again.body.status.errorCode, 'GES_CANCEL_NOT_ALLOWED');
    assert.match(again.body.status.message, /already COMPLETED/);

    const busy = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber() }, key(acme))).body.data.id;
    await db.pool.query('UPDATE callback SET state = 4 WHERE id = $1', [busy]); // as the engine would when an agent connects
    const refused = await post(app, '/callbacks/cancel', { id: busy }, key(acme));
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body.status.message, /PROCESSING/);
    assert.equal((await post(app, '/callbacks/retrieve', { id: busy }, key(acme))).body.data.callbackState, 'PROCESSING');
  });
});

describe('guards', () => {
  test('in-queue checking allows 2 active callbacks per number by default, and a cancelled one frees its place', async () => {
    const phone = freshNumber();
    const a = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone }, key(acme));
    const b = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone, desiredTime: inMinutes(30) }, key(acme));
    assert.equal(a.statusCode, 200);
    assert.equal(b.statusCode, 200);
    const c = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone }, key(acme));
    assert.equal(c.statusCode, 400);
    assert.equal(c.body.status.errorCode, 'GES_DUPLICATE_IN_QUEUE');
    await post(app, '/callbacks/cancel', { id: a.body.data.id }, key(acme));
    const d = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone }, key(acme));
    assert.equal(d.statusCode, 200);
  });

  test('strict in-queue checking allows one, and checking off allows many', async () => {
    const phone = freshNumber();
    assert.equal((await post(app, '/callbacks/create', { serviceName: 'strict', phoneNumber: phone }, key(acme))).statusCode, 200);
    assert.equal((await post(app, '/callbacks/create', { serviceName: 'strict', phoneNumber: phone }, key(acme))).statusCode, 400);
    for (let i = 0; i < 4; i++)
      assert.equal((await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: phone }, key(acme))).statusCode, 200);
  });

  test('concurrent creates for one number never exceed the in-queue limit', async () => {
    const phone = freshNumber();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: phone }, key(acme))),
    );
    assert.equal(results.filter((r) => r.statusCode === 200).length, 2);
    assert.ok(results.every((r) => r.statusCode === 200 || r.body.status.errorCode === 'GES_DUPLICATE_IN_QUEUE'));
  });

  test("a number is limited to the service's requests per 24 hours (429), counted even after cancels", async () => {
    const phone = freshNumber();
    for (let i = 0; i < 3; i++) {
      const r = await post(app, '/callbacks/create', { serviceName: 'throttled', phoneNumber: phone }, key(acme));
      assert.equal(r.statusCode, 200);
      await post(app, '/callbacks/cancel', { id: r.body.data.id }, key(acme));
    }
    const fourth = await post(app, '/callbacks/create', { serviceName: 'throttled', phoneNumber: phone }, key(acme));
    assert.equal(fourth.statusCode, 429);
    assert.equal(fourth.body.status.code, 429);
    assert.equal(fourth.body.status.errorCode, 'GES_NUMBER_THROTTLED');
    assert.equal((await post(app, '/callbacks/create', { serviceName: 'throttled', phoneNumber: freshNumber() }, key(acme))).statusCode, 200);
  });
});

describe('Idempotency-Key', () => {
  test('20 concurrent creates with one key and body make one callback and all get its id', async () => {
    const body = { serviceName: 'unlimited', phoneNumber: freshNumber(), desiredTime: inMinutes(45) };
    const results = await Promise.all(Array.from({ length: 20 }, () => post(app, '/callbacks/create', body, { ...key(acme), 'idempotency-key': 'order-771' })));
    assert.ok(
      results.every((r) => r.statusCode === 200),
      JSON.stringify(results.map((r) => r.body.status)),
    );
    const ids = new Set(results.map((r) => r.body.data.id));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 19);
    const stored = await db.pool.query('SELECT count(*)::int AS n FROM callback WHERE phone = $1', [body.phoneNumber.slice(1)]);
    assert.equal(stored.rows[0].n, 1);
  });

  test('the same key with another body is refused with 409; keys are per tenant', async () => {
    const first = await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: freshNumber() }, { ...key(acme), 'idempotency-key': 'k-2' });
    assert.equal(first.statusCode, 200);
    const other = await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: freshNumber() }, { ...key(acme), 'idempotency-key': 'k-2' });
    assert.equal(other.statusCode, 409);
    assert.equal(other.body.status.errorCode, 'GES_IDEMPOTENCY_KEY_REUSED');
    const elsewhere = await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber() }, { ...key(globex), 'idempotency-key': 'k-2' });
    assert.equal(elsewhere.statusCode, 200);
  });

  test('a refused create does not consume the key, and an expired key is reusable', async () => {
    const bad = await post(app, '/callbacks/create', { serviceName: 'nope', phoneNumber: freshNumber() }, { ...key(acme), 'idempotency-key': 'k-3' });
    assert.equal(bad.statusCode, 400);
    const good = await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: freshNumber() }, { ...key(acme), 'idempotency-key': 'k-3' });
    assert.equal(good.statusCode, 200);
    await db.pool.query(`UPDATE idempotency_key SET created_at = now() - interval '25 hours' WHERE key = 'k-3'`);
    const later = await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: freshNumber() }, { ...key(acme), 'idempotency-key': 'k-3' });
    assert.equal(later.statusCode, 200);
    assert.notEqual(later.body.data.id, good.body.data.id);
  });

  test('an over-long key is a 400', async () => {
    const res = await post(
      app,
      '/callbacks/create',
      { serviceName: 'unlimited', phoneNumber: freshNumber() },
      { ...key(acme), 'idempotency-key': 'k'.repeat(256) },
    );
    assert.equal(res.statusCode, 400);
    assert.equal(res.body.status.errorCode, 'GES_IDEMPOTENCY_KEY_INVALID');
  });
});

describe('reschedule (extension)', () => {
  test('moves a SCHEDULED callback and records where it came from', async () => {
    const original = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000).toISOString();
    const target = new Date(Math.ceil((Date.now() + 5 * 86_400_000) / 1000) * 1000).toISOString();
    const id = (await post(app, '/callbacks/create', { serviceName: 'sales', phoneNumber: freshNumber(), desiredTime: original }, key(acme))).body.data.id;
    const res = await post(app, '/callbacks/reschedule', { id, desiredTime: target }, key(acme));
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    assert.equal(res.body.data.desiredTime, target);
    assert.equal((await post(app, '/callbacks/retrieve', { id }, key(acme))).body.data.desiredTime, target);
    const events = (await post(app, '/callbacks/history', { id }, key(acme))).body.data.events;
    assert.equal(events.length, 2, 'history moved with the callback to its new day');
    assert.equal(events[1].kind, 'RESCHEDULE');
    assert.equal(events[1].detail, `from ${original}`);
  });

  test('a cancel racing a reschedule (which moves the row to another partition) never fails the request', async () => {
    for (let i = 0; i < 10; i++) {
      const id = (await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: freshNumber(), desiredTime: inMinutes(60) }, key(acme))).body
        .data.id;
      const [cancel, move] = await Promise.all([
        post(app, '/callbacks/cancel', { id }, key(acme)),
        post(app, '/callbacks/reschedule', { id, desiredTime: inMinutes(3 * 24 * 60) }, key(acme)),
      ]);
      assert.equal(cancel.statusCode, 200, JSON.stringify(cancel.body));
      assert.ok([200, 400].includes(move.statusCode), JSON.stringify(move.body));
      const final = (await post(app, '/callbacks/retrieve', { id }, key(acme))).body.data;
      assert.equal(final.callbackState, 'COMPLETED');
      const events = (await post(app, '/callbacks/history', { id }, key(acme))).body.data.events;
      assert.equal(events.length, move.statusCode === 200 ? 3 : 2, 'history matches what happened');
    }
  });

  test('refuses a QUEUED callback, a past time and an unknown id', async () => {
    const queued = (await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: freshNumber() }, key(acme))).body.data.id;
    const r1 = await post(app, '/callbacks/reschedule', { id: queued, desiredTime: inMinutes(60) }, key(acme));
    assert.equal(r1.statusCode, 400);
    assert.equal(r1.body.status.errorCode, 'GES_RESCHEDULE_NOT_ALLOWED');
    const scheduled = (await post(app, '/callbacks/create', { serviceName: 'unlimited', phoneNumber: freshNumber(), desiredTime: inMinutes(60) }, key(acme)))
      .body.data.id;
    const r2 = await post(app, '/callbacks/reschedule', { id: scheduled, desiredTime: '2020-01-01T00:00:00Z' }, key(acme));
    assert.equal(r2.statusCode, 400);
    assert.equal(r2.body.status.errorCode, 'GES_DESIRED_TIME_PAST');
    const r3 = await post(app, '/callbacks/reschedule', { id: '00000000-0000-4000-8000-000000000000', desiredTime: inMinutes(60) }, key(acme));
    assert.equal(r3.statusCode, 404);
  });
});

describe('find (extension)', () => {
  test('filters by service, number, state and desired-time range, and pages with a cursor', async () => {
    const t = await createTestTenant(db, 'finder', { a: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 }, b: {} });
    const phone = '+13125550142';
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) {
      ids.push((await post(app, '/callbacks/create', { serviceName: 'a', phoneNumber: phone, desiredTime: inMinutes(60 * i) }, key(t))).body.data.id);
    }
    await post(app, '/callbacks/create', { serviceName: 'b', phoneNumber: '+13125550143', desiredTime: inMinutes(30) }, key(t));
    await post(app, '/callbacks/cancel', { id: ids[0] }, key(t));

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await post(app, '/callbacks/find', { serviceName: 'a', limit: 3, ...(cursor ? { cursor } : {}) }, key(t));
      assert.equal(res.statusCode, 200);
      seen.push(...res.body.data.callbacks.map((c: { id: string }) => c.id));
      cursor = res.body.data.nextCursor;
      pages += 1;
    } while (cursor);
    assert.deepEqual(seen, ids, 'every callback once, in desired-time order');
    assert.equal(pages, 3);

    const scheduled = await post(app, '/callbacks/find', { phoneNumber: '(312) 555-0142', states: ['SCHEDULED'] }, key(t));
    assert.deepEqual(
      scheduled.body.data.callbacks.map((c: { id: string }) => c.id),
      ids.slice(1),
    );
    const window = await post(app, '/callbacks/find', { from: inMinutes(60 * 2 - 5), to: inMinutes(60 * 4 - 5) }, key(t));
    assert.deepEqual(
      window.body.data.callbacks.map((c: { id: string }) => c.id),
      [ids[1], ids[2]],
    );
    const none = await post(app, '/callbacks/find', { serviceName: 'unknown' }, key(t));
    assert.deepEqual(none.body.data.callbacks, []);
  });

  test('a forged cursor or bad state is a 400', async () => {
    const cursor = await post(app, '/callbacks/find', { cursor: 'bm90LWEtY3Vyc29y' }, key(acme));
    assert.equal(cursor.statusCode, 400);
    assert.equal(cursor.body.status.errorCode, 'GES_CURSOR_INVALID');
    const state = await post(app, '/callbacks/find', { states: ['WAITING'] }, key(acme));
    assert.equal(state.statusCode, 400);
    const limit = await post(app, '/callbacks/find', { limit: 1000 }, key(acme));
    assert.equal(limit.statusCode, 400);
  });
});

describe('robustness', () => {
  test('no body a client can send produces a 5xx', async () => {
    const bodies: unknown[] = [
      null,
      [],
      'x',
      1,
      true,
      {},
      { id: null },
      { id: 5 },
      { id: ['a'] },
      { id: { $ne: 1 } },
      { serviceName: null, phoneNumber: null },
      { serviceName: ['sales'], phoneNumber: {} },
      { serviceName: 'sales', phoneNumber: '+1'.padEnd(64, '9') },
      { serviceName: 'sales', phoneNumber: '\u0000\u0001' },
      { serviceName: 'sales', phoneNumber: '+12125550100', desiredTime: '9999-12-31T23:59:59Z' },
      { serviceName: 'sales', phoneNumber: '+12125550100', desiredTime: '+275760-09-13T00:00:00Z' },
      { serviceName: 'sales', phoneNumber: '+12125550100', offerThreshold: 1e308, priority: -1e20 },
      { serviceName: 'sales', phoneNumber: '+12125550100', userData: { a: '\u0000' } },
      { serviceName: 'x'.repeat(300), phoneNumber: '1' },
      { serviceName: 'sales\u0000', phoneNumber: '+12125550100' },
      { states: 'QUEUED' },
      { from: 'yesterday' },
      { cursor: '' },
      { desiredTime: 'x', id: 'y' },
    ];
    for (const path of ['/callbacks/create', '/callbacks/retrieve', '/callbacks/cancel', '/callbacks/reschedule', '/callbacks/find', '/callbacks/history']) {
      for (const body of bodies) {
        const res = await app.inject({
          method: 'POST',
          url: `/engagement/v3${path}`,
          headers: { ...key(acme), 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        assert.ok(res.statusCode < 500, `${path} ${JSON.stringify(body)} -> ${res.statusCode} ${res.body}`);
        assert.ok(res.json().status.corrId);
      }
    }
  });

  test('hostile JSON (deep nesting, prototype keys) is a 400, not a crash', async () => {
    const deep = `{"serviceName":"sales","phoneNumber":"+12125550100","userData":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    for (const headers of [key(acme), { ...key(acme), 'idempotency-key': 'deep' }]) {
      const res = await app.inject({
        method: 'POST',
        url: '/engagement/v3/callbacks/create',
        headers: { ...headers, 'content-type': 'application/json' },
        payload: deep,
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().status.message, /nests deeper than 32 levels/);
    }
    const proto = await post(
      app,
      '/callbacks/create',
      '{"serviceName":"sales","phoneNumber":"+12125550100","userData":{"__proto__":{"admin":true}}}',
      key(acme),
    );
    assert.equal(proto.statusCode, 400);
  });

  test('an unknown path answers 404 in the envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/engagement/v3/nothing-here', headers: key(acme) });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().status.errorCode, 'GES_ROUTE_NOT_FOUND');
  });

  test('the OpenAPI document is generated from the route schemas', async () => {
    const res = await app.inject({ method: 'GET', url: '/ges/docs/json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    const create = doc.paths['/engagement/v3/callbacks/create'].post;
    assert.ok(create.requestBody.content['application/json'].schema.properties.alwaysCheckCapacity);
    assert.ok(create.responses['429']);
    assert.ok(doc.paths['/engagement/v3/callbacks/find']);
  });
});
