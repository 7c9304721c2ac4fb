import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, type TestDb } from './support/test-env.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { addApiKey, findTenantByName } from '../src/store/tenant-store.ts';

/**
 * Genesys' official JavaScript client for the Engagement API (engagement-client-js 9.0.x, generated
 * from the v3 spec) against GES, request by request. For every operation of every API class the
 * client ships, the test sends exactly what the client puts on the wire: method, path (path
 * parameters URI-encoded), query (unset options dropped, dates as toJSON(), booleans and numbers
 * as strings), the headers superagent 3.7 sends (x-api-key, content-type and accept
 * application/json even on GETs, its user-agent), and bodies built from the client's model classes
 * *with their prototype defaults* (CreateCallbackParms sends cbOfferType's documentation sentence
 * and language en-US). Each answer must succeed or fail as ges-api.md says, and parse into the
 * client's model shape (checked by the small shape checker below, written from the models' fields).
 *
 * Classes and operations (src/api/*.js of the client): AvailabilityApi.openFor,
 * AvailabilityApi.queryAvailabilityV2, CallInApi.callInRequests, CallbacksApi.bookCallbackExternal,
 * CallbacksApi.cancelCallback, CallbacksApi.queryCallbackById, EstimatedWaitTimeApi.estimatedWaitTimeAPI1,
 * QueueStatusApi.queryQueueStatus, StatisticsApi.statistics. (CaptchaApi and NotificationApi were
 * shipped by 9.0.18-19 only and are retired; GES answers them 404 in the envelope.)
 */

const API_KEY = 'wire-test-key-5f0c9a7e2b1d4c3a';
const USER_AGENT = 'node-superagent/3.7.0';
/** The `@default` of CreateCallbackParms.cbOfferType, which the model sends unless overwritten. */
const CB_OFFER_TYPE_DEFAULT = 'ASAP if the request does not include the desiredTime parameter and SCHEDULED if the request includes the desiredTime parameter.';

let db: TestDb;
let app: FastifyInstance;

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  await applyTenantConfig(db.pool, {
    tenant: 'wireco',
    services: [
      { name: 'CB_VQ_Sales', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } },
      { name: 'CB_VQ_Tiny', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0, slotMinutes: 60, slotCapacity: 1 } },
      { name: 'CB_VQ_Once', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 1 } },
      { name: 'CB_VQ_Push', options: { callDirection: 'USERORIGINATED' } },
    ],
    callInGroups: [{ name: 'Support', dnis: ['+18005550100'], accessCode: true }],
  });
  await addApiKey(db.pool, (await findTenantByName(db.pool, 'wireco'))!.id, API_KEY);
});
after(async () => {
  await app.close();
  await db.close();
});

// ---- the wire, as the generated client and superagent 3.7 produce it --------------------------

/** ApiClient.paramToString: Date -> toJSON(), everything else -> toString(); null/undefined dropped. */
function param(value: unknown): string {
  return value instanceof Date ? value.toJSON() : String(value);
}

function query(params: Record<string, unknown>): string {
  const pairs = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(param(v))}`);
  return pairs.length > 0 ? `?${pairs.join('&')}` : '';
}

interface Wire {
  method: 'GET' | 'POST';
  path: string; // after the base path, path params already encoded
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  body?: string; // JSON text exactly as sent; absent: no body at all
}

async function send(w: Wire, basePath = '/engagement/v3') {
  const res = await app.inject({
    method: w.method,
    url: `${basePath}${w.path}${query(w.query ?? {})}`,
    headers: {
      'x-api-key': API_KEY,
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': USER_AGENT,
      'accept-encoding': 'gzip, deflate',
      ...(w.headers ?? {}),
    },
    ...(w.body === undefined ? {} : { payload: w.body }),
  });
  let json: unknown;
  assert.doesNotThrow(
    () => {
      json = res.json();
    },
    `answer of ${w.method} ${w.path} is JSON: ${res.body.slice(0, 200)}`,
  );
  return { status: res.statusCode, json };
}

/**
 * What a model instance serialises to: its constructor's fields, then the prototype defaults the
 * model declares (a prototype field the caller set is sent once, with the caller's value).
 */
function createCallbackParms(serviceName: string, phoneNumber: string, set: Record<string, unknown> = {}): string {
  const own: Record<string, unknown> = { serviceName, phoneNumber, ...set };
  const defaults: Record<string, unknown> = { cbOfferType: CB_OFFER_TYPE_DEFAULT, language: 'en-US' };
  const out: Record<string, unknown> = { ...own };
  for (const [k, v] of Object.entries(defaults)) if (!(k in own)) out[k] = v;
  return JSON.stringify(out, (_k, v) => (v instanceof Date ? v.toJSON() : v));
}
const callbackIdParms = (id: string) => JSON.stringify({ id });
const pushTarget = (channel: string, target: string) => ({ channel, target });
const callInRequestsParms = (groupName: string, set: Record<string, unknown> = {}) => JSON.stringify({ groupName, ...set });

// ---- the client's model shapes ----------------------------------------------------------------

type FieldType = 'String' | 'Number' | 'Boolean' | 'Date' | 'Object' | Shape | [Shape | FieldType];
interface Shape {
  [field: string]: { type: FieldType; required?: boolean };
}

/** Problems of `value` against a model shape, as ApiClient.convertToType would meet them. */
function problems(value: unknown, shape: Shape | FieldType, path: string): string[] {
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path} is not an array`];
    return value.flatMap((v, i) => problems(v, shape[0], `${path}[${i}]`));
  }
  if (typeof shape === 'string') {
    switch (shape) {
      case 'String':
        return typeof value === 'string' ? [] : [`${path} is not a String`];
      case 'Number':
        return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path} is not a Number`];
      case 'Boolean':
        return typeof value === 'boolean' ? [] : [`${path} is not a Boolean`];
      case 'Date':
        return typeof value === 'string' && !Number.isNaN(new Date(value).getTime()) ? [] : [`${path} is not a Date`];
      case 'Object':
        return value !== null && typeof value === 'object' ? [] : [`${path} is not an Object`];
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${path} is not an object`];
  const obj = value as Record<string, unknown>;
  return Object.entries(shape).flatMap(([field, spec]) => {
    if (obj[field] === undefined) return spec.required ? [`${path}.${field} is missing`] : [];
    return problems(obj[field], spec.type, `${path}.${field}`);
  });
}

const req = (type: FieldType) => ({ type, required: true });
const opt = (type: FieldType) => ({ type });
const Status: Shape = { code: req('Number'), message: req('String'), corrId: req('String') };
const ErrorResponse: Shape = { status: req(Status) };
const HashData: FieldType = 'Object';
const models = {
  CreateCallbackResponse200: { status: req(Status), data: req({ id: req('String') }) },
  CreateCallbackResponse429: { status: req(Status), data: req({ slots: req(HashData) }) },
  CancelCallbackResponse200: { status: req(Status), data: req({ id: req('String') }) },
  GetCallbackResponse200: {
    status: req(Status),
    data: req({
      id: req('String'),
      desiredTime: req('Date'),
      callbackState: req('String'),
      callbackReason: opt('String'),
      phoneNumber: req('String'),
      positionInQueue: opt('Number'),
      estimatedWaitTime: opt('Number'),
    }),
  },
  AvailabilitiesResponse200: {
    status: req(Status),
    data: req({
      slots: req([{ utcTime: req('Date'), localTime: req('String'), capacity: req('Number'), total: req('Number') }]),
      durationMin: req('Number'),
      timezone: req('String'),
    }),
  },
  OpenForResponse200: { status: req(Status), data: req({ openFor: req('Number') }) },
  EstimatedWaitTimeResponse200: {
    status: req(Status),
    data: req([{ virtualQueue: req('String'), estimatedWaitTime: req('Number'), message: opt('String'), resultCode: req('Number') }]),
  },
  QueueStatusResponse200: {
    status: req(Status),
    data: req({ ewt: req('Number'), offerImmediateCallback: req('Boolean'), offerScheduledCallback: req('Boolean') }),
  },
  StatisticsResponse200: {
    status: req(Status),
    data: req({
      statistics: req([{ name: req('String'), objectId: req('String'), objectType: req('String'), timestamp: req('Number'), value: req('Number') }]),
    }),
  },
  CallInRequestsResponse200: {
    status: req(Status),
    data: req({
      id: req('String'),
      toPhoneNumber: req('String'),
      groupName: req('String'),
      expirationTime: req('Number'),
      accessCode: opt('Number'),
      fromPhoneNumber: opt('String'),
      callbackServiceId: opt('String'),
    }),
  },
} satisfies Record<string, Shape>;

/**
 * The `data` of an answer that `expect` has checked against its model: the tests read the fields
 * the model names, the way the generated client's callers do.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- shape checked at run time by problems(); the tests read the model's fields
type CheckedData = any;

/** One queue of an estimated-wait-time answer. */
interface WaitItem {
  virtualQueue: string;
  estimatedWaitTime: number;
  message?: string;
}

/** The answer has `status` and parses into `shape`; status.code mirrors the HTTP status. */
function expect(res: { status: number; json: unknown }, http: number, shape: Shape): CheckedData {
  assert.equal(res.status, http, JSON.stringify(res.json));
  assert.deepEqual(problems(res.json, shape, 'response'), [], JSON.stringify(res.json));
  const answer = res.json as { status: { code: unknown; message: unknown }; data?: unknown };
  assert.equal(answer.status.code, http);
  if (http === 200) assert.equal(answer.status.message, 'Successful');
  return answer.data;
}

const later = (hours: number) => new Date(Math.ceil((Date.now() + hours * 3_600_000) / 3_600_000) * 3_600_000);
let seq = 0;
const number = () => `+1415555${String(2000 + ++seq).slice(-4)}`;

// ---- CallbacksApi ---------------------------------------------------------------------------------

describe('CallbacksApi', () => {
  test('bookCallbackExternal: new CreateCallbackParms(service, number) as sent, immediate', async () => {
    const data = expect(
      await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Sales', number()) }),
      200,
      models.CreateCallbackResponse200,
    );
    const got = expect(await send({ method: 'POST', path: '/callbacks/retrieve', body: callbackIdParms(data.id) }), 200, models.GetCallbackResponse200);
    assert.deepEqual([got.callbackState, got.cbOfferType, got.language], ['QUEUED', 'ASAP', 'en-US']);
  });

  test('bookCallbackExternal: the scheduled create of issue 11, byte for byte', async () => {
    const desiredTime = later(24).toJSON();
    const body = `{"serviceName":"CB_VQ_Sales","phoneNumber":"+14155550100","desiredTime":"${desiredTime}","cbOfferType":"${CB_OFFER_TYPE_DEFAULT}","language":"en-US"}`;
    const data = expect(await send({ method: 'POST', path: '/callbacks/create', body }), 200, models.CreateCallbackResponse200);
    const got = expect(await send({ method: 'POST', path: '/callbacks/retrieve', body: callbackIdParms(data.id) }), 200, models.GetCallbackResponse200);
    assert.deepEqual([got.callbackState, got.desiredTime, got.cbOfferType], ['SCHEDULED', desiredTime, 'SCHEDULED']);
  });

  test('bookCallbackExternal: every model field set, pushTargets from PushTarget instances', async () => {
    const body = createCallbackParms('CB_VQ_Sales', number(), {
      desiredTime: later(30),
      cbOfferType: 'COMBINED_SCHEDULED_AND_ASAP',
      language: 'fr-CA',
      inboundVQ: 'VQ_In',
      offerThreshold: 120,
      channel: 'web',
      offerTiming: 'ON-HOURS',
      cbOriginationIxnId: 'ixn-1',
      surveyRP: '7001',
      priority: 2.5,
      routePoint: '8001@SIP',
      userData: { orderId: 'A12', items: [1, 2] },
      captchaToken: 'tok',
      pushTargets: [pushTarget('FCM', 'reg-token')],
      alwaysCheckCapacity: false,
    });
    const data = expect(await send({ method: 'POST', path: '/callbacks/create', body }), 200, models.CreateCallbackResponse200);
    const got = expect(await send({ method: 'POST', path: '/callbacks/retrieve', body: callbackIdParms(data.id) }), 200, models.GetCallbackResponse200);
    assert.deepEqual(
      [got.cbOfferType, got.language, got.priority, got.userData],
      ['COMBINED_SCHEDULED_AND_ASAP', 'fr-CA', 3, { orderId: 'A12', items: [1, 2] }],
    );
  });

  test('bookCallbackExternal: a USERORIGINATED service needs pushTargets; with them it books', async () => {
    expect(await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Push', number()) }), 400, ErrorResponse);
    expect(
      await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Push', number(), { pushTargets: [pushTarget('FCM', 't')] }) }),
      200,
      models.CreateCallbackResponse200,
    );
  });

  test('bookCallbackExternal: 400 for an unknown service or a bad number, in the error model', async () => {
    expect(await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Nope', number()) }), 400, ErrorResponse);
    expect(await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Sales', 'not a number') }), 400, ErrorResponse);
  });

  test('bookCallbackExternal: 429 with ProposedSlots, for a full slot (alwaysCheckCapacity) and for the per-number throttle', async () => {
    const slot = later(48);
    expect(
      await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Tiny', number(), { desiredTime: slot }) }),
      200,
      models.CreateCallbackResponse200,
    );
    const full = expect(
      await send({
        method: 'POST',
        path: '/callbacks/create',
        body: createCallbackParms('CB_VQ_Tiny', number(), { desiredTime: slot, alwaysCheckCapacity: true }),
      }),
      429,
      models.CreateCallbackResponse429,
    );
    assert.ok(
      Object.values(full.slots).every((v) => typeof v === 'string'),
      'HashData: string to string',
    );
    assert.ok(Object.keys(full.slots).length > 0);
    const moved = expect(
      await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Tiny', number(), { desiredTime: slot }) }),
      200,
      models.CreateCallbackResponse200,
    );
    assert.ok(Date.parse(moved.desiredTime) > slot.getTime(), 'without alwaysCheckCapacity it moved to the next slot');
    const once = number();
    expect(await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Once', once) }), 200, models.CreateCallbackResponse200);
    const throttled = expect(
      await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Once', once) }),
      429,
      models.CreateCallbackResponse429,
    );
    assert.deepEqual(throttled, { slots: {} });
  });

  test('queryCallbackById and cancelCallback: 200, then 400 once completed, 404 for an unknown id', async () => {
    const { id } = expect(
      await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Sales', number(), { desiredTime: later(26) }) }),
      200,
      models.CreateCallbackResponse200,
    );
    expect(await send({ method: 'POST', path: '/callbacks/retrieve', body: callbackIdParms(id) }), 200, models.GetCallbackResponse200);
    const cancelled = expect(await send({ method: 'POST', path: '/callbacks/cancel', body: callbackIdParms(id) }), 200, models.CancelCallbackResponse200);
    assert.equal(cancelled.id, id);
    const done = expect(await send({ method: 'POST', path: '/callbacks/retrieve', body: callbackIdParms(id) }), 200, models.GetCallbackResponse200);
    assert.deepEqual([done.callbackState, done.callbackReason], ['COMPLETED', 'CANCELLED']);
    expect(await send({ method: 'POST', path: '/callbacks/cancel', body: callbackIdParms(id) }), 400, ErrorResponse);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(await send({ method: 'POST', path: '/callbacks/cancel', body: callbackIdParms(unknown) }), 404, ErrorResponse);
    expect(await send({ method: 'POST', path: '/callbacks/retrieve', body: callbackIdParms(unknown) }), 404, ErrorResponse);
  });
});

// ---- AvailabilityApi --------------------------------------------------------------------------------

describe('AvailabilityApi', () => {
  test('queryAvailabilityV2 with every option the client has, in both start forms', async () => {
    const start = later(2);
    const q = { start, numberOfDays: 1, timezone: 'Europe/Paris', maxTimeSlots: 3, reportBusy: true };
    const data = expect(
      await send({ method: 'GET', path: `/callbacks/availability/${encodeURIComponent('CB_VQ_Sales')}`, query: q }),
      200,
      models.AvailabilitiesResponse200,
    );
    assert.equal(data.slots.length, 3);
    assert.equal(data.timezone, 'Europe/Paris');
    const byMs = expect(
      await send({
        method: 'GET',
        path: '/callbacks/availability/CB_VQ_Sales',
        query: { startMS: start.getTime(), endMS: start.getTime() + 3_600_000, maxTimeSlots: 2, reportBusy: false },
      }),
      200,
      models.AvailabilitiesResponse200,
    );
    assert.equal(byMs.slots.length, 2);
    // opts.end is a Date too: the client sends it as toJSON(), like start.
    const byEnd = expect(
      await send({
        method: 'GET',
        path: '/callbacks/availability/CB_VQ_Sales',
        query: { start, end: new Date(start.getTime() + 3_600_000), timezone: 'UTC', reportBusy: true },
      }),
      200,
      models.AvailabilitiesResponse200,
    );
    assert.ok(byEnd.slots.length > 0, 'slots within the hour');
    assert.ok(
      byEnd.slots.every((s: { utcTime: string }) => Date.parse(s.utcTime) >= start.getTime() && Date.parse(s.utcTime) < start.getTime() + 3_600_000),
      JSON.stringify(byEnd.slots.slice(0, 3)),
    );
    expect(await send({ method: 'GET', path: '/callbacks/availability/CB_VQ_Sales', query: {} }), 200, models.AvailabilitiesResponse200);
    expect(await send({ method: 'GET', path: '/callbacks/availability/CB_VQ_Nope', query: {} }), 400, ErrorResponse);
    expect(await send({ method: 'GET', path: '/callbacks/availability/CB_VQ_Sales', query: { timezone: 'Mars/Olympus' } }), 400, ErrorResponse);
  });

  test('openFor with and without start and timezone', async () => {
    const data = expect(
      await send({ method: 'GET', path: '/callbacks/open-for/CB_VQ_Sales', query: { start: later(1), timezone: 'America/New_York' } }),
      200,
      models.OpenForResponse200,
    );
    assert.ok(data.openFor > 0, 'a service without business hours is always open');
    expect(await send({ method: 'GET', path: '/callbacks/open-for/CB_VQ_Sales' }), 200, models.OpenForResponse200);
    expect(await send({ method: 'GET', path: '/callbacks/open-for/CB_VQ_Nope' }), 400, ErrorResponse);
  });
});

// ---- EstimatedWaitTimeApi, QueueStatusApi -----------------------------------------------------------

describe('EstimatedWaitTimeApi and QueueStatusApi', () => {
  test('estimatedWaitTimeAPI1: comma-delimited queues, mode, include-calls-on-hold', async () => {
    const items = expect(
      await send({
        method: 'GET',
        path: '/estimated-wait-time',
        query: { 'virtual-queues': 'CB_VQ_Sales,CB_VQ_Nope', mode: 'mode2', 'include-calls-on-hold': true },
      }),
      200,
      models.EstimatedWaitTimeResponse200,
    );
    assert.deepEqual(
      items.map((i: WaitItem) => [i.virtualQueue, i.estimatedWaitTime]),
      [
        ['CB_VQ_Sales', -1],
        ['CB_VQ_Nope', -1],
      ],
    );
    assert.ok(
      items.every((i: WaitItem) => i.estimatedWaitTime >= 0 || typeof i.message === 'string'),
      'the tutorial prints message when the estimate is < 0',
    );
    expect(await send({ method: 'GET', path: '/estimated-wait-time', query: { 'virtual-queues': 'CB_VQ_Sales' } }), 200, models.EstimatedWaitTimeResponse200);
    expect(await send({ method: 'GET', path: '/estimated-wait-time', query: { 'virtual-queues': 'CB_VQ_Sales', mode: 'mode7' } }), 400, ErrorResponse);
  });

  test('queryQueueStatus: 200 for a queue, 400 for an unknown one', async () => {
    const status = expect(await send({ method: 'GET', path: '/callbacks/queue-status/CB_VQ_Sales' }), 200, models.QueueStatusResponse200);
    assert.deepEqual(
      [status.ewt, status.offerImmediateCallback, status.offerScheduledCallback],
      [-1, false, true],
      'no agents logged in: -1 and no immediate offer',
    );
    expect(await send({ method: 'GET', path: '/callbacks/queue-status/CB_VQ_Nope' }), 400, ErrorResponse);
  });
});

// ---- StatisticsApi, CallInApi -----------------------------------------------------------------------

describe('StatisticsApi and CallInApi', () => {
  test('statistics: no body (the operation has no body parameter), with and without cache-control', async () => {
    const variants: Record<string, string>[] = [{ 'cache-control': 'max-age=15', 'content-length': '0' }, { 'content-length': '0' }];
    for (const headers of variants) {
      const data = expect(await send({ method: 'POST', path: '/statistics/operations/get-statistic-ex', headers }), 200, models.StatisticsResponse200);
      assert.deepEqual([...new Set(data.statistics.map((s: { objectId: string }) => s.objectId))], ['CB_VQ_Once', 'CB_VQ_Push', 'CB_VQ_Sales', 'CB_VQ_Tiny']);
    }
  });

  test('callInRequests: a CallInRequestsParms with every field; 400 for an unknown group or number', async () => {
    const data = expect(
      await send({
        method: 'POST',
        path: '/call-in/requests/create',
        body: callInRequestsParms('Support', { fromPhoneNumber: '+14155550123', userData: { priority: 'high' }, callbackServiceId: 'cb-1' }),
      }),
      200,
      models.CallInRequestsResponse200,
    );
    assert.deepEqual([data.toPhoneNumber, data.groupName, data.fromPhoneNumber, typeof data.accessCode], ['+18005550100', 'Support', '+14155550123', 'number']);
    expect(await send({ method: 'POST', path: '/call-in/requests/create', body: callInRequestsParms('Nope') }), 400, ErrorResponse);
    expect(
      await send({ method: 'POST', path: '/call-in/requests/create', body: callInRequestsParms('Support', { fromPhoneNumber: 'abc' }) }),
      400,
      ErrorResponse,
    );
  });
});

describe('every operation under the ingress prefix, and what the client never reaches', () => {
  test('the /ges/engagement/v3 prefix answers the same operations', async () => {
    expect(
      await send({ method: 'POST', path: '/callbacks/create', body: createCallbackParms('CB_VQ_Sales', number()) }, '/ges/engagement/v3'),
      200,
      models.CreateCallbackResponse200,
    );
    expect(await send({ method: 'GET', path: '/callbacks/queue-status/CB_VQ_Sales' }, '/ges/engagement/v3'), 200, models.QueueStatusResponse200);
    expect(
      await send({ method: 'POST', path: '/statistics/operations/get-statistic-ex', headers: { 'content-length': '0' } }, '/ges/engagement/v3'),
      200,
      models.StatisticsResponse200,
    );
  });

  test('a wrong key is 401 and the retired captcha/notification operations are 404, all in the envelope', async () => {
    expect(await send({ method: 'GET', path: '/callbacks/queue-status/CB_VQ_Sales', headers: { 'x-api-key': 'wrong-key' } }), 401, ErrorResponse);
    expect(await send({ method: 'POST', path: '/captcha/verify', body: JSON.stringify({ siteKey: 's', captchaToken: 't' }) }), 404, ErrorResponse);
    expect(
      await send({ method: 'POST', path: '/notification/publish', body: JSON.stringify({ channel: 'FCM', target: 't', event: {}, validate_only: true }) }),
      404,
      ErrorResponse,
    );
  });
});
