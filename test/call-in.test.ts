// Click-To-Call-In end to end against the real PostgreSQL: group configuration (apply/export, ranges),
// POST /engagement/v3/call-in/requests/create, the one-statement create and match of the store (also
// against the pure matching rule, on random cases), expiry by the database clock or a given time,
// retention, and inbound calls routed by CallInRouter through the contact-center simulator.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { applyTenantConfig, exportTenantConfig } from '../src/app/tenant-config.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { CallInService } from '../src/app/call-in-service.ts';
import { CallInRouter } from '../src/app/call-in-router.ts';
import { Maintenance } from '../src/app/maintenance.ts';
import { buildApiApp } from '../src/main/api-app-assembly.ts';
import { buildInternalApp } from '../src/http/internal-app.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createMetrics, type Metrics } from '../src/metrics/metrics.ts';
import { GesError } from '../src/domain/errors.ts';
import { parseCallInGroup, type CallInGroupDoc } from '../src/domain/call-in/call-in-group.ts';
import { accessCodeCandidates, accessCodeFromDigits, generateAccessCode } from '../src/domain/call-in/access-code.ts';
import { choosePlacement, dnisPreference } from '../src/domain/call-in/dnis-choice.ts';
import { callInStateName, chooseMatch, inboundNumber, type MatchableRequest } from '../src/domain/call-in/call-in-match.ts';
import {
  eraseCallInRequestsOfNumber,
  findCallInGroup,
  getCallInRequest,
  insertCallInRequest,
  matchInboundCall,
  type InboundMatchInput,
} from '../src/store/call-in-store.ts';
import type { Tenant } from '../src/store/tenant-store.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { Prng } from '../src/voice/simulator/prng.ts';
import type { VoiceCommand, VoiceEvent, VoicePort } from '../src/voice/voice-port.ts';
import { createTestDb, createTestTenant, post, type TestDb, type TestTenant } from './support/test-env.ts';
import { waitFor } from './support/wait-for.ts';

let db: TestDb;
let metrics: Metrics;
let app: FastifyInstance;
let acme: TestTenant;
let globex: TestTenant;
const silent = createLogger('silent');

/** UK drama numbers (Ofcom's range for fiction): nobody is ever dialed. */
const SALES_DNIS = ['+442079460100', '+442079460101', '+442079460102'];
const SUPPORT_DNIS = '+442079460200';
const CUSTOMER = '+442079460018';
const OTHER_CUSTOMER = '+442079460019';

const GROUPS: CallInGroupDoc[] = [
  { name: 'sales-in', dnis: SALES_DNIS, accessCode: true, accessCodeLength: 4, expirySeconds: 600, targetService: 'sales', defaultCountry: 'GB' },
  { name: 'support-in', dnis: [SUPPORT_DNIS], accessCode: false, expirySeconds: 900, targetService: 'support', defaultCountry: 'GB' },
];

before(async () => {
  db = await createTestDb();
  metrics = createMetrics({ defaultMetrics: false });
  app = await buildApiApp({
    pool: db.pool,
    logger: silent,
    bodyLimitBytes: 256 * 1024,
    metrics,
    callbacks: new CallbackService(db.pool, db.clock),
    availability: new AvailabilityService(db.pool, db.clock),
  });
  await app.ready();
  acme = await createTestTenant(db, 'acme-callin', { sales: {}, support: {} });
  globex = await createTestTenant(db, 'globex-callin', { sales: {} });
  await applyTenantConfig(db.pool, { tenant: acme.name, callInGroups: GROUPS });
  await applyTenantConfig(db.pool, { tenant: globex.name, callInGroups: [{ name: 'globex-in', dnis: ['+14155550100'] }] });
});

after(async () => {
  await app.close();
  await db.close();
});

const key = (t: TestTenant) => ({ 'x-api-key': t.apiKey });
const create = (t: TestTenant, body: unknown) => post(app, '/call-in/requests/create', body, key(t));

async function dbNow(): Promise<number> {
  const { rows } = await db.pool.query<{ now: Date }>('SELECT now() AS now');
  return rows[0]!.now.getTime();
}

async function clearRequests(t: Tenant): Promise<void> {
  await db.pool.query('DELETE FROM callin_request WHERE tenant_id = $1', [t.id]);
}

describe('domain', () => {
  test('access codes: the length asked, never a leading 0, from the injected randomness', () => {
    for (const length of [4, 7, 10]) {
      for (let i = 0; i < 200; i++) {
        const code = generateAccessCode(length);
        assert.equal(String(code).length, length);
      }
    }
    assert.equal(
      generateAccessCode(4, () => 0),
      1000,
    );
    assert.equal(
      generateAccessCode(4, (max) => max - 1),
      9999,
    );
    const codes = accessCodeCandidates(4, 8);
    assert.equal(new Set(codes).size, 8);
    assert.deepEqual(
      accessCodeCandidates(4, 8, () => 0),
      [1000],
      'a randomness that repeats gives fewer candidates, and ends',
    );
    assert.equal(accessCodeFromDigits('4821#', 10), 4821);
    assert.equal(accessCodeFromDigits(' 48-21 ', 10), 4821);
    assert.equal(accessCodeFromDigits('0482', 10), undefined, 'no code starts with 0');
    assert.equal(accessCodeFromDigits('12345678901', 10), undefined);
    assert.equal(accessCodeFromDigits('#', 10), undefined);
    assert.equal(accessCodeFromDigits(undefined, 10), undefined);
  });

  test('numbers: a uniform shuffle breaks ties; the least loaded number with a free code is taken', () => {
    const prng = new Prng(7);
    const random = (max: number) => Math.floor(prng.next() * max);
    const firsts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const order = dnisPreference(SALES_DNIS, random);
      assert.deepEqual([...order].sort(), [...SALES_DNIS].sort());
      firsts.set(order[0]!, (firsts.get(order[0]!) ?? 0) + 1);
    }
    for (const n of SALES_DNIS) assert.ok(firsts.get(n)! > 850 && firsts.get(n)! < 1150, `${n} first ${firsts.get(n)} times of 3000`);

    const [a, b, c] = SALES_DNIS as [string, string, string];
    const load = new Map([
      [a, { waiting: 2, codesInUse: new Set([1111, 2222]) }],
      [b, { waiting: 1, codesInUse: new Set([1111, 2222]) }],
      [c, { waiting: 1, codesInUse: new Set<number>() }],
    ]);
    assert.deepEqual(choosePlacement([a, b, c], load, undefined), { dnis: b, accessCode: undefined }, 'least loaded, ties by preference');
    assert.deepEqual(choosePlacement([a, b, c], load, [1111, 2222, 3333]), { dnis: b, accessCode: 3333 });
    assert.deepEqual(choosePlacement([a, b], load, [1111, 2222]), undefined, 'every candidate taken everywhere');
  });

  test('groups: defaults, and ranges refused as "out of valid range"', () => {
    assert.deepEqual(parseCallInGroup({ name: 'g', dnis: ['+14155550100'] }), {
      name: 'g',
      dnis: ['+14155550100'],
      accessCode: true,
      accessCodeLength: 4,
      expirySeconds: 600,
      targetService: null,
      defaultCountry: 'US',
    });
    const refused = (doc: unknown, message: RegExp) =>
      assert.throws(
        () => parseCallInGroup(doc),
        (e: unknown) => e instanceof GesError && e.code === 'GES_VALIDATION' && message.test(e.message),
      );
    refused({ name: 'g', dnis: ['+14155550100'], accessCodeLength: 3 }, /^callInGroup g: accessCodeLength 3 is out of valid range \(4-10\)$/);
    refused({ name: 'g', dnis: ['+14155550100'], accessCodeLength: 11 }, /out of valid range/);
    refused({ name: 'g', dnis: ['+14155550100'], expirySeconds: 59 }, /^callInGroup g: expirySeconds 59 is out of valid range \(60-86400\)$/);
    refused({ name: 'g', dnis: ['+14155550100'], expirySeconds: 86_401 }, /out of valid range/);
    refused({ name: 'g', dnis: [] }, /^callInGroup\/dnis/);
    refused({ name: 'g', dnis: ['020 7946 0100'] }, /^callInGroup\/dnis\/0 must be a number in E\.164 form/);
    refused({ name: 'g', dnis: ['+14155550100', '+14155550100'] }, /dnis \+14155550100 appears twice/);
    refused({ name: 'g', dnis: ['+14155550100'], colour: 'red' }, /colour is not a known field/);
  });

  test('matching rule: own number first, then the most recent; code, number, tenant and expiry must fit', () => {
    const base: MatchableRequest = {
      id: '0',
      tenantId: 1,
      toNumber: '+1',
      fromNumber: undefined,
      accessCode: undefined,
      state: 'WAITING',
      createdAtMs: 0,
      expiresAtMs: 100,
    };
    const r = (id: string, over: Partial<MatchableRequest>) => ({ ...base, id, ...over });
    const call = { tenantId: 1, toNumber: '+1', fromNumber: '+9', accessCode: undefined };
    const requests = [r('a', { fromNumber: '+9', createdAtMs: 1 }), r('b', { createdAtMs: 3 }), r('c', { fromNumber: '+8', createdAtMs: 2 })];
    assert.equal(chooseMatch(requests, call, 50)?.id, 'a');
    assert.equal(chooseMatch(requests, { ...call, fromNumber: undefined }, 50)?.id, 'b');
    assert.equal(chooseMatch(requests, { ...call, tenantId: 2 }, 50), undefined);
    assert.equal(chooseMatch(requests, { ...call, toNumber: '+2' }, 50), undefined);
    assert.equal(chooseMatch(requests, call, 100), undefined, 'expired at expiresAt');
    assert.equal(chooseMatch([r('a', { accessCode: 1234 })], call, 50), undefined);
    assert.equal(chooseMatch([r('a', { accessCode: 1234 })], { ...call, accessCode: 1234 }, 50)?.id, 'a');
    assert.equal(chooseMatch([r('a', { state: 'MATCHED' })], call, 50), undefined);
    assert.equal(inboundNumber('(415) 555-0100'), '+14155550100');
    assert.equal(inboundNumber('anonymous'), undefined);
    assert.equal(callInStateName(3), 'EXPIRED');
  });
});

describe('POST /engagement/v3/call-in/requests/create', () => {
  test('with access codes: a number of the pool, a code, the expiry, the caller and userData kept', async () => {
    const before = await dbNow();
    const res = await create(acme, {
      groupName: 'sales-in',
      fromPhoneNumber: '020 7946 0018',
      userData: { orderId: 'A-1', 'not-an-identifier': 1 },
      callbackServiceId: 'cb-42',
    });
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.status, { code: 200, message: 'Successful', corrId: res.body.status.corrId });
    const d = res.body.data;
    assert.deepEqual(Object.keys(d).sort(), [
      'accessCode',
      'callbackServiceId',
      'expirationTime',
      'fromPhoneNumber',
      'groupName',
      'id',
      'ignoredUserDataKeys',
      'toPhoneNumber',
    ]);
    assert.ok(SALES_DNIS.includes(d.toPhoneNumber));
    assert.equal(d.groupName, 'sales-in');
    assert.ok(Number.isInteger(d.accessCode) && d.accessCode >= 1000 && d.accessCode <= 9999, String(d.accessCode));
    assert.equal(d.fromPhoneNumber, CUSTOMER, 'national format read in the group country, answered in E.164');
    assert.equal(d.callbackServiceId, 'cb-42');
    assert.deepEqual(d.ignoredUserDataKeys, ['not-an-identifier']);
    assert.ok(d.expirationTime >= before + 600_000 && d.expirationTime < (await dbNow()) + 600_000 + 1, 'expiry by the database clock');

    const stored = await getCallInRequest(db.pool, acme.id, d.id);
    assert.equal(stored?.state, 'WAITING');
    assert.equal(stored?.expiresAt.getTime() - stored.createdAt.getTime(), 600_000);
    assert.equal(stored?.expiresAt.getTime(), d.expirationTime);
    assert.deepEqual([stored?.toNumber, stored?.fromNumber, stored?.accessCode, stored?.callbackServiceId], [d.toPhoneNumber, CUSTOMER, d.accessCode, 'cb-42']);
    assert.deepEqual(stored?.userData, { orderId: 'A-1' });
    assert.equal(await getCallInRequest(db.pool, globex.id, d.id), undefined, 'another tenant does not see it');

    const counted = (await metrics.callInRequestsCreated.get()).values.find((v) => v.labels.tenant === acme.name)?.value;
    assert.ok(counted !== undefined && counted >= 1);
  });

  test('without access codes: no accessCode; absent or empty optional fields are not echoed; large userData kept', async () => {
    const big = { notes: 'x'.repeat(5000), list: Array.from({ length: 50 }, (_, i) => ({ i })) };
    const res = await create(acme, { groupName: 'support-in', fromPhoneNumber: '', callbackServiceId: ' ', userData: big });
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.data).sort(), ['expirationTime', 'groupName', 'id', 'toPhoneNumber']);
    assert.equal(res.body.data.toPhoneNumber, SUPPORT_DNIS);
    const stored = await getCallInRequest(db.pool, acme.id, res.body.data.id);
    assert.deepEqual([stored?.accessCode, stored?.fromNumber, stored?.callbackServiceId], [undefined, undefined, undefined]);
    assert.deepEqual(stored?.userData, big, 'deflated when large, read back whole');
    const { rows } = await db.pool.query('SELECT user_data, user_data_z IS NOT NULL AS packed FROM callin_request WHERE id = $1', [res.body.data.id]);
    assert.deepEqual(rows[0], { user_data: null, packed: true });
  });

  test('requests spread evenly over the pool, and no two waiting ones on a number share a code', async () => {
    await clearRequests(acme);
    const made: { toPhoneNumber: string; accessCode: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await create(acme, { groupName: 'sales-in' });
      assert.equal(res.statusCode, 200);
      made.push(res.body.data);
    }
    for (const n of SALES_DNIS) assert.equal(made.filter((m) => m.toPhoneNumber === n).length, 4, `${n} holds a third of the requests`);
    for (const n of SALES_DNIS) {
      const codes = made.filter((m) => m.toPhoneNumber === n).map((m) => m.accessCode);
      assert.equal(new Set(codes).size, codes.length, `codes on ${n} are distinct`);
    }
  });

  test('a group whose codes are all held answers 429 GES_CALLIN_GROUP_FULL', async () => {
    await clearRequests(acme);
    // Randomness that always draws 0: every candidate code is 1000, so each number takes one request.
    const stuck = await buildApiApp({
      pool: db.pool,
      logger: silent,
      bodyLimitBytes: 65536,
      callIn: new CallInService(db.pool, undefined, () => 0),
      callbacks: new CallbackService(db.pool, db.clock),
      availability: new AvailabilityService(db.pool, db.clock),
    });
    try {
      const answers = [];
      for (let i = 0; i < SALES_DNIS.length + 1; i++) answers.push(await post(stuck, '/call-in/requests/create', { groupName: 'sales-in' }, key(acme)));
      assert.deepEqual(
        answers.slice(0, 3).map((a) => [a.statusCode, a.body.data.accessCode]),
        [
          [200, 1000],
          [200, 1000],
          [200, 1000],
        ],
      );
      assert.deepEqual(new Set(answers.slice(0, 3).map((a) => a.body.data.toPhoneNumber)), new Set(SALES_DNIS));
      const full = answers[3]!;
      assert.equal(full.statusCode, 429);
      assert.equal(full.body.status.errorCode, 'GES_CALLIN_GROUP_FULL');
      assert.equal(full.body.status.code, 429);
    } finally {
      await stuck.close();
    }
  });

  test('refusals: unknown group, bad fromPhoneNumber, bad userData, missing groupName; all in the GES envelope', async () => {
    const cases: { body: unknown; status: number; code: string; message?: RegExp; tenant?: TestTenant }[] = [
      {
        body: { groupName: 'nope' },
        status: 400,
        code: 'GES_CALLIN_GROUP_UNKNOWN',
        message: /^groupName "nope" is not a Click-To-Call-In group of this tenant$/,
      },
      { body: { groupName: 'sales-in' }, status: 400, code: 'GES_CALLIN_GROUP_UNKNOWN', tenant: globex },
      {
        body: { groupName: 'sales-in', fromPhoneNumber: 'call me' },
        status: 400,
        code: 'GES_PHONE_INVALID',
        message: /^fromPhoneNumber must contain only digits/,
      },
      {
        body: { groupName: 'sales-in', fromPhoneNumber: '+44 20 79' },
        status: 400,
        code: 'GES_PHONE_INVALID',
        message: /^fromPhoneNumber is not a possible number/,
      },
      { body: { groupName: 'sales-in', userData: ['a'] }, status: 400, code: 'GES_VALIDATION', message: /userData/ },
      { body: { groupName: 'sales-in', userData: 'text' }, status: 400, code: 'GES_VALIDATION', message: /userData/ },
      { body: { groupName: 'sales-in', userData: { a: 'nul\u0000' } }, status: 400, code: 'GES_VALIDATION', message: /NUL/ },
      { body: { fromPhoneNumber: CUSTOMER }, status: 400, code: 'GES_VALIDATION', message: /groupName/ },
      { body: { groupName: '' }, status: 400, code: 'GES_VALIDATION', message: /groupName/ },
    ];
    for (const c of cases) {
      const res = await create(c.tenant ?? acme, c.body);
      assert.equal(res.statusCode, c.status, JSON.stringify(c.body));
      assert.equal(res.body.status.code, c.status);
      assert.equal(res.body.status.errorCode, c.code, JSON.stringify(c.body));
      assert.equal(typeof res.body.status.corrId, 'string');
      if (c.message) assert.match(res.body.status.message, c.message);
    }
    const noKey = await post(app, '/call-in/requests/create', { groupName: 'sales-in' });
    assert.equal(noKey.body.status.errorCode, 'GES_API_KEY_MISSING');
  });
});

describe('store: one-statement match', () => {
  const support = async () => (await findCallInGroup(db.pool, acme.id, 'support-in'))!;
  const sales = async () => (await findCallInGroup(db.pool, acme.id, 'sales-in'))!;
  const insert = async (
    group: { id: number; dnis: string[]; expirySeconds: number },
    over: { now?: Date; from?: string; codes?: number[]; userData?: Record<string, unknown> } = {},
  ) =>
    (await insertCallInRequest(db.pool, {
      tenantId: acme.id,
      groupId: group.id,
      dnisPreference: group.dnis,
      accessCodes: over.codes,
      expirySeconds: group.expirySeconds,
      fromNumber: over.from,
      callbackServiceId: undefined,
      userData: over.userData,
      now: over.now,
    }))!;
  let callSeq = 0;
  const call = (over: Partial<InboundMatchInput>): InboundMatchInput => ({
    tenantName: acme.name,
    callId: `test-call-${++callSeq}`,
    toNumber: SUPPORT_DNIS,
    fromNumber: undefined,
    accessCode: undefined,
    ...over,
  });

  test('without codes: the request made from the caller number first, else the most recent; each matched once', async () => {
    await clearRequests(acme);
    const g = await support();
    const t0 = (await dbNow()) - 10_000;
    const a = await insert(g, { now: new Date(t0), from: CUSTOMER, userData: { who: 'a' } });
    const b = await insert(g, { now: new Date(t0 + 1000), userData: { who: 'b' } });
    const c = await insert(g, { now: new Date(t0 + 2000), from: OTHER_CUSTOMER });
    const first = await matchInboundCall(db.pool, call({ fromNumber: CUSTOMER }));
    assert.deepEqual(first, {
      id: a.id,
      groupName: 'support-in',
      targetService: 'support',
      userData: { who: 'a' },
      callbackServiceId: undefined,
      replay: false,
    });
    assert.equal((await matchInboundCall(db.pool, call({ fromNumber: CUSTOMER })))?.id, c.id, 'then the most recent');
    assert.equal((await matchInboundCall(db.pool, call({})))?.id, b.id);
    assert.equal(await matchInboundCall(db.pool, call({})), undefined, 'nothing left');
    const stored = await getCallInRequest(db.pool, acme.id, a.id);
    assert.equal(stored?.state, 'MATCHED');
    assert.ok(stored?.matchedAt && stored.matchedCallId?.startsWith('test-call-'));
  });

  test('with codes: the code, the number dialed, the tenant and the expiry must fit; a redelivered call gets its request back', async () => {
    await clearRequests(acme);
    const g = await sales();
    const r = await insert(g, { codes: [4821], userData: { k: 1 } });
    const dialed = r.toNumber;
    const other = SALES_DNIS.find((n) => n !== dialed)!;
    assert.equal(await matchInboundCall(db.pool, call({ toNumber: dialed, accessCode: 4822 })), undefined, 'wrong code');
    assert.equal(await matchInboundCall(db.pool, call({ toNumber: dialed })), undefined, 'no code');
    assert.equal(await matchInboundCall(db.pool, call({ toNumber: other, accessCode: 4821 })), undefined, 'another number of the pool');
    assert.equal(await matchInboundCall(db.pool, call({ tenantName: globex.name, toNumber: dialed, accessCode: 4821 })), undefined, 'another tenant');
    assert.equal(
      await matchInboundCall(db.pool, call({ toNumber: dialed, accessCode: 4821, now: new Date(r.expiresAt.getTime()) })),
      undefined,
      'at its expiry',
    );
    const ok = call({ toNumber: dialed, accessCode: 4821, now: new Date(r.expiresAt.getTime() - 1) });
    assert.deepEqual(await matchInboundCall(db.pool, ok), {
      id: r.id,
      groupName: 'sales-in',
      targetService: 'sales',
      userData: { k: 1 },
      callbackServiceId: undefined,
      replay: false,
    });
    assert.deepEqual(await matchInboundCall(db.pool, ok), {
      id: r.id,
      groupName: 'sales-in',
      targetService: 'sales',
      userData: { k: 1 },
      callbackServiceId: undefined,
      replay: true,
    });
    assert.equal(await matchInboundCall(db.pool, { ...ok, callId: 'another-call' }), undefined, 'matched: no second call gets it');
  });

  test('expiry by the database clock: a request created in the past has expired; maintenance writes it down and purges old ones', async () => {
    await clearRequests(acme);
    const g = await sales();
    const now = await dbNow();
    const stale = await insert(g, { codes: [5555], now: new Date(now - 601_000) });
    const old = await insert(g, { codes: [6666], now: new Date(now - 15 * 86_400_000) });
    const fresh = await insert(g, { codes: [7777] });
    assert.equal(await matchInboundCall(db.pool, call({ toNumber: stale.toNumber, accessCode: 5555 })), undefined);
    assert.equal((await getCallInRequest(db.pool, acme.id, stale.id))?.state, 'EXPIRED', 'read as expired before maintenance');
    const report = await new Maintenance(db.pool, db.clock, silent, 14, 60_000).runOnce();
    assert.ok(report.callInExpired >= 1 && report.callInPurged >= 1, JSON.stringify(report));
    const { rows } = await db.pool.query<{ id: string; state: number }>('SELECT id, state FROM callin_request WHERE tenant_id = $1 ORDER BY created_at', [
      acme.id,
    ]);
    assert.deepEqual(
      rows,
      [
        { id: stale.id, state: 3 },
        { id: fresh.id, state: 1 },
      ],
      `the 15-day-old ${old.id} is gone`,
    );
  });

  test('two concurrent calls never match one request; concurrent deliveries of one call match it once', async () => {
    const g = await sales();
    for (let round = 0; round < 20; round++) {
      await clearRequests(acme);
      const r = await insert(g, { codes: [1234] });
      const results = await Promise.all([1, 2, 3].map(() => matchInboundCall(db.pool, call({ toNumber: r.toNumber, accessCode: 1234 }))));
      assert.equal(results.filter((m) => m !== undefined).length, 1, `round ${round}: ${JSON.stringify(results)}`);
    }
    // Without codes, three calls racing for two requests: two matches, of different requests.
    const s = await support();
    for (let round = 0; round < 10; round++) {
      await clearRequests(acme);
      await insert(s);
      await insert(s);
      const results = await Promise.all([1, 2, 3].map(() => matchInboundCall(db.pool, call({}))));
      const ids = results.filter((m) => m !== undefined).map((m) => m.id);
      assert.equal(ids.length, 2, `round ${round}`);
      assert.equal(new Set(ids).size, 2);
    }
    // One call delivered three times at once, through the router: one request matched, three identical routes.
    for (let round = 0; round < 10; round++) {
      await clearRequests(acme);
      await insert(s);
      await insert(s);
      const sent: VoiceCommand[] = [];
      const port = {
        send: async (c: VoiceCommand) => {
          sent.push(c);
        },
        onEvent: () => () => undefined,
      } as unknown as VoicePort;
      const router = new CallInRouter(db.pool, port, silent);
      const callId = `again-${round}`;
      const event = { type: 'inbound_call', callId, tenant: acme.name, toNumber: SUPPORT_DNIS, fromNumber: CUSTOMER, at: Date.now() } as const;
      await Promise.all([router.handle(event), router.handle(event), router.handle(event)]);
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callin_request WHERE tenant_id = $1 AND state = 2', [acme.id]);
      assert.equal(rows[0]!.n, 1, `round ${round}`);
      assert.equal(sent.length, 3);
      for (const c of sent)
        assert.deepEqual(c, { type: 'route_inbound', dialKey: `in:${callId}`, callId, tenant: acme.name, queue: 'support' }, `round ${round}`);
    }
  });

  test('the SQL agrees with the pure matching rule on random cases', async () => {
    const prng = new Prng('call-in-differential');
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(prng.next() * xs.length)]!;
    const [g1, g2] = [await sales(), await support()];
    const froms = [CUSTOMER, OTHER_CUSTOMER, undefined];
    let compared = 0;
    let matchedCount = 0;
    for (let scenario = 0; scenario < 25; scenario++) {
      await clearRequests(acme);
      const base = await dbNow();
      for (let i = 0; i < 8; i++) {
        const g = pick([g1, g2]);
        await insertCallInRequest(db.pool, {
          tenantId: acme.id,
          groupId: g.id,
          dnisPreference: dnisPreference(g.dnis, (m) => Math.floor(prng.next() * m)),
          accessCodes: g.accessCode ? [pick([1111, 2222, 3333])] : undefined,
          expirySeconds: g.expirySeconds,
          fromNumber: pick(froms),
          callbackServiceId: undefined,
          userData: undefined,
          now: new Date(base - Math.floor(prng.next() * 4) * 250_000), // 0 to 750 s ago: some expired, some tied
        });
      }
      for (let k = 0; k < 6; k++) {
        const input = call({
          toNumber: pick([...SALES_DNIS, SUPPORT_DNIS, '+442079460999']),
          fromNumber: pick([...froms, '+442079460050']),
          accessCode: pick([1111, 2222, 3333, 9999, undefined]),
          now: new Date(base),
        });
        const { rows } = await db.pool.query<{
          id: string;
          to_number: string;
          from_number: string | null;
          access_code: string | null;
          state: number;
          created_at: Date;
          expires_at: Date;
        }>('SELECT id, to_number, from_number, access_code, state, created_at, expires_at FROM callin_request WHERE tenant_id = $1', [acme.id]);
        const requests: MatchableRequest[] = rows.map((r) => ({
          id: r.id,
          tenantId: acme.id,
          toNumber: `+${r.to_number}`,
          fromNumber: r.from_number ? `+${r.from_number}` : undefined,
          accessCode: r.access_code ? Number(r.access_code) : undefined,
          state: callInStateName(r.state),
          createdAtMs: r.created_at.getTime(),
          expiresAtMs: r.expires_at.getTime(),
        }));
        const expected = chooseMatch(
          requests,
          { tenantId: acme.id, toNumber: input.toNumber, fromNumber: input.fromNumber, accessCode: input.accessCode },
          base,
        );
        const got = await matchInboundCall(db.pool, input);
        assert.equal(got?.id, expected?.id, `scenario ${scenario} call ${k}: ${JSON.stringify(input)}`);
        compared += 1;
        if (got) matchedCount += 1;
      }
    }
    assert.ok(matchedCount > 10 && matchedCount < compared, `${matchedCount} of ${compared} calls matched: both outcomes exercised`);
  });

  test('a data-protection erasure removes the requests a number made', async () => {
    await clearRequests(acme);
    const g = await support();
    await insert(g, { from: CUSTOMER });
    await insert(g, { from: OTHER_CUSTOMER });
    assert.equal(await eraseCallInRequestsOfNumber(db.pool, acme.id, CUSTOMER), 1);
    assert.equal(await eraseCallInRequestsOfNumber(db.pool, globex.id, OTHER_CUSTOMER), 0, 'only in its tenant');
  });
});

describe('inbound calls through the simulator and CallInRouter', () => {
  /** The simulator behind a port that records the commands sent to it. */
  function simulated(clock: SimClock, inboundCalls: { atMs: number; toNumber: string; fromNumber: string; digits?: string }[]) {
    const sim = new ContactCenterSimulator({
      seed: 11,
      clock,
      customerPatienceSec: 60,
      queues: {
        [`${acme.name}/sales`]: { agents: 2, handleTimeSec: { mean: 120, sd: 0 } },
        [`${acme.name}/support`]: { agents: 1, handleTimeSec: { mean: 60, sd: 0 } },
      },
      inboundCalls: inboundCalls.map((c) => ({ ...c, tenant: acme.name })),
    });
    const sent: VoiceCommand[] = [];
    const events: VoiceEvent[] = [];
    sim.onEvent((e) => {
      events.push(e);
    });
    const port: VoicePort = {
      send: (c) => {
        sent.push(c);
        return sim.send(c);
      },
      onEvent: (h) => sim.onEvent(h),
      availableAgents: (t, q) => sim.availableAgents(t, q),
      start: () => sim.start(),
      stop: () => sim.stop(),
    };
    const of = (callId: string) => events.filter((e) => 'dialKey' in e && e.dialKey === `in:${callId}`);
    const routeOf = (callId: string) => sent.find((c) => c.type === 'route_inbound' && c.callId === callId);
    return { sim, port, sent, events, of, routeOf };
  }

  test('the right code before expiry is matched and routed with its userData; wrong code, expired, unknown number and a second call are not', async () => {
    await clearRequests(acme);
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
    const routerMetrics = createMetrics({ defaultMetrics: false });
    const service = new CallInService(db.pool);
    const live = await service.create(acme, { groupName: 'sales-in', fromPhoneNumber: CUSTOMER, userData: { orderId: 'A-7', priority: 'high' } });
    const waiting = await service.create(acme, { groupName: 'sales-in' });
    const expired = await service.create(acme, { groupName: 'sales-in' }, new Date((await dbNow()) - 700_000));
    const wrongCode = waiting.accessCode === 9999 ? 1000 : waiting.accessCode! + 1;

    const start = Date.UTC(2030, 0, 7, 9);
    const clock = new SimClock(start);
    const s = simulated(clock, [
      { atMs: start + 1_000, toNumber: live.toPhoneNumber, fromNumber: CUSTOMER, digits: `${live.accessCode}#` },
      { atMs: start + 2_000, toNumber: live.toPhoneNumber, fromNumber: CUSTOMER, digits: `${live.accessCode}#` },
      { atMs: start + 3_000, toNumber: waiting.toPhoneNumber, fromNumber: OTHER_CUSTOMER, digits: String(wrongCode) },
      { atMs: start + 4_000, toNumber: expired.toPhoneNumber, fromNumber: OTHER_CUSTOMER, digits: String(expired.accessCode) },
      { atMs: start + 5_000, toNumber: '+442079460999', fromNumber: OTHER_CUSTOMER, digits: String(waiting.accessCode) },
    ]);
    const router = new CallInRouter(db.pool, s.port, logger, { observer: routerMetrics });
    router.start();
    router.start(); // idempotent: one subscription
    await s.sim.start();
    // One call at a time, so the first two (same request) are handled in order.
    for (let i = 1; i <= 5; i++) {
      clock.advanceTo(start + i * 1_000);
      await waitFor(() => s.routeOf(`inbound-${i}`) !== undefined, `route of inbound-${i}`);
      clock.advanceBy(0);
    }

    assert.deepEqual(s.routeOf('inbound-1'), {
      type: 'route_inbound',
      dialKey: 'in:inbound-1',
      callId: 'inbound-1',
      tenant: acme.name,
      queue: 'sales',
      userData: { orderId: 'A-7', priority: 'high' },
    });
    for (const id of ['inbound-2', 'inbound-3', 'inbound-4', 'inbound-5']) {
      assert.deepEqual(s.routeOf(id), { type: 'route_inbound', dialKey: `in:${id}`, callId: id, tenant: acme.name }, `${id} gets the default treatment`);
      assert.deepEqual(
        s.of(id).map((e) => e.type),
        ['call_ended'],
        id,
      );
    }
    assert.equal(s.sent.length, 5, 'exactly one answer per call');
    assert.deepEqual(
      s.of('inbound-1').map((e) => e.type),
      ['connected'],
    );
    clock.runUntilIdle();
    assert.deepEqual(
      s.of('inbound-1').map((e) => e.type),
      ['connected', 'call_ended'],
    );
    assert.equal((s.of('inbound-1')[1] as { talkSeconds: number }).talkSeconds, 120);

    assert.equal((await getCallInRequest(db.pool, acme.id, live.id))?.matchedCallId, 'inbound-1');
    assert.equal((await getCallInRequest(db.pool, acme.id, waiting.id))?.state, 'WAITING', 'a wrong code leaves it waiting');
    assert.equal((await getCallInRequest(db.pool, acme.id, expired.id))?.state, 'EXPIRED');
    const counts = Object.fromEntries((await routerMetrics.callInInboundCalls.get()).values.map((v) => [v.labels.result, v.value]));
    assert.deepEqual(counts, { matched: 1, unmatched: 4 });

    const log = lines.join('');
    assert.equal(lines.filter((l) => l.includes('matched no call-in request')).length, 4);
    for (const number of [CUSTOMER, OTHER_CUSTOMER, live.toPhoneNumber]) assert.ok(!log.includes(number.slice(1)), 'no number in clear in the log');
    assert.ok(!log.includes('A-7') && !log.includes('"digits"'), 'neither userData nor keyed digits are logged');

    await router.stop();
    await s.sim.stop();
  });

  test('on virtual time (eventTime), expiry follows the simulated clock; a waiting caller gets the next free agent', async () => {
    await clearRequests(acme);
    const start = Date.UTC(2030, 0, 7, 9);
    const service = new CallInService(db.pool);
    // support-in: no codes, 900 s expiry, routed to the support queue (one agent, 60 s calls).
    const first = await service.create(acme, { groupName: 'support-in', fromPhoneNumber: CUSTOMER, userData: { n: 1 } }, new Date(start));
    const second = await service.create(acme, { groupName: 'support-in', fromPhoneNumber: OTHER_CUSTOMER, userData: { n: 2 } }, new Date(start));
    const late = await service.create(acme, { groupName: 'support-in', userData: { n: 3 } }, new Date(start));
    assert.equal(late.expirationTime.getTime(), start + 900_000);

    const clock = new SimClock(start);
    const s = simulated(clock, [
      { atMs: start + 10_000, toNumber: SUPPORT_DNIS, fromNumber: CUSTOMER },
      { atMs: start + 20_000, toNumber: SUPPORT_DNIS, fromNumber: OTHER_CUSTOMER },
      { atMs: start + 900_000, toNumber: SUPPORT_DNIS, fromNumber: '+442079460077' },
    ]);
    const router = new CallInRouter(db.pool, s.port, silent, { eventTime: true });
    router.start();
    await s.sim.start();
    for (const [i, at] of [
      [1, 10_000],
      [2, 20_000],
      [3, 900_000],
    ] as const) {
      clock.advanceTo(start + at);
      await waitFor(() => s.routeOf(`inbound-${i}`) !== undefined, `route of inbound-${i}`);
      clock.advanceBy(0);
    }
    clock.runUntilIdle();
    assert.deepEqual(s.routeOf('inbound-1'), {
      type: 'route_inbound',
      dialKey: 'in:inbound-1',
      callId: 'inbound-1',
      tenant: acme.name,
      queue: 'support',
      userData: { n: 1 },
    });
    assert.deepEqual(
      s.routeOf('inbound-2'),
      { type: 'route_inbound', dialKey: 'in:inbound-2', callId: 'inbound-2', tenant: acme.name, queue: 'support', userData: { n: 2 } },
      'its own number, not the newest',
    );
    assert.deepEqual(
      s.routeOf('inbound-3'),
      { type: 'route_inbound', dialKey: 'in:inbound-3', callId: 'inbound-3', tenant: acme.name },
      'at start + 900 s the last one has expired',
    );
    // One support agent: inbound-2 waited from 20 s until inbound-1's call ended at 70 s.
    assert.deepEqual(
      s.of('inbound-2').map((e) => [e.type, e.at - start]),
      [
        ['connected', 70_000],
        ['call_ended', 130_000],
      ],
    );
    assert.equal((await getCallInRequest(db.pool, acme.id, first.id))?.matchedAt?.getTime(), start + 10_000, 'matched at the event time');
    assert.equal((await getCallInRequest(db.pool, acme.id, second.id))?.state, 'MATCHED');
    await router.stop();
    await s.sim.stop();
  });

  test('a database failure still answers the call with the default treatment', async () => {
    const broken = {
      query: async () => {
        throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      },
    } as never;
    const sent: VoiceCommand[] = [];
    const port = {
      send: async (c: VoiceCommand) => {
        sent.push(c);
      },
    } as unknown as VoicePort;
    const counted = createMetrics({ defaultMetrics: false });
    await new CallInRouter(broken, port, silent, { observer: counted }).handle({
      type: 'inbound_call',
      callId: 'x1',
      tenant: acme.name,
      toNumber: SUPPORT_DNIS,
      fromNumber: CUSTOMER,
      at: 0,
    });
    assert.deepEqual(sent, [{ type: 'route_inbound', dialKey: 'in:x1', callId: 'x1', tenant: acme.name }]);
    assert.equal((await counted.callInInboundCalls.get()).values.find((v) => v.labels.result === 'failed')?.value, 1);
  });
});

describe('configuration of call-in groups', () => {
  test('apply → export → apply round trip; omitted fields exported with their defaults', async () => {
    const tenant = 'callin-config';
    const doc = {
      tenant,
      callInGroups: [
        { name: 'a', dnis: ['+14155550101', '+14155550102'] },
        { ...GROUPS[0]!, name: 'b', dnis: ['+14155550103'] },
      ],
    };
    assert.deepEqual(await applyTenantConfig(db.pool, doc), { tenantCreated: true, businessHours: 0, capacityRules: 0, services: 0, callInGroups: 2 });
    const exported = await exportTenantConfig(db.pool, tenant);
    assert.deepEqual(exported.callInGroups, [
      {
        name: 'a',
        dnis: ['+14155550101', '+14155550102'],
        accessCode: true,
        accessCodeLength: 4,
        expirySeconds: 600,
        targetService: null,
        defaultCountry: 'US',
      },
      { name: 'b', dnis: ['+14155550103'], accessCode: true, accessCodeLength: 4, expirySeconds: 600, targetService: 'sales', defaultCountry: 'GB' },
    ]);
    const rows = async () =>
      (
        await db.pool.query(
          'SELECT id, name, dnis, access_code, access_code_length, expiry_sec, target_service, default_country FROM callin_group WHERE name IN ($1, $2) ORDER BY id',
          ['a', 'b'],
        )
      ).rows;
    const before = await rows();
    assert.equal((await applyTenantConfig(db.pool, exported)).callInGroups, 2);
    assert.deepEqual(await rows(), before, 'applying the export changes nothing');
    assert.deepEqual(await exportTenantConfig(db.pool, tenant), exported);

    // Changing a group replaces it whole; a group the document omits stays.
    await applyTenantConfig(db.pool, { tenant, callInGroups: [{ name: 'a', dnis: ['+14155550101'], accessCode: false, expirySeconds: 120 }] });
    const after = await exportTenantConfig(db.pool, tenant);
    assert.deepEqual(
      after.callInGroups!.map((g) => [g.name, g.dnis, g.accessCode, g.expirySeconds]),
      [
        ['a', ['+14155550101'], false, 120],
        ['b', ['+14155550103'], true, 600],
      ],
    );
  });

  test('refusals name the place, and apply nothing', async () => {
    const tenant = 'callin-refused';
    await applyTenantConfig(db.pool, { tenant, callInGroups: [{ name: 'kept', dnis: ['+14155550111'] }] });
    const before = await exportTenantConfig(db.pool, tenant);
    const cases: [unknown[], RegExp][] = [
      [[{ name: 'x', dnis: ['+14155550112'], accessCodeLength: 12 }], /^callInGroup x: accessCodeLength 12 is out of valid range \(4-10\)$/],
      [[{ name: 'x', dnis: ['+14155550112'], expirySeconds: 30 }], /^callInGroup x: expirySeconds 30 is out of valid range \(60-86400\)$/],
      [[{ name: 'x', dnis: ['14155550112'] }], /^config\/callInGroups\/0\/dnis\/0 must be a number in E\.164 form/],
      [
        [
          { name: 'x', dnis: ['+14155550112'] },
          { name: 'x', dnis: ['+14155550113'] },
        ],
        /^callInGroup x appears twice$/,
      ],
      [[{ name: 'x', dnis: ['+14155550111'] }], /^callInGroup kept and x: dnis \+14155550111 is in more than one group/],
    ];
    for (const [groups, message] of cases) {
      await assert.rejects(
        applyTenantConfig(db.pool, { tenant, callInGroups: groups }),
        (e: unknown) => e instanceof GesError && e.code === 'GES_VALIDATION' && message.test(e.message),
      );
    }
    assert.deepEqual(await exportTenantConfig(db.pool, tenant), before);
  });

  test('the admin API applies and exports call-in groups', async () => {
    const token = 'admin-token-0123456789abcdef';
    const admin = await buildInternalApp({ pool: db.pool, logger: silent, isShuttingDown: () => false, adminToken: token });
    try {
      const auth = { authorization: `Bearer ${token}` };
      const put = await admin.inject({
        method: 'PUT',
        url: '/admin/v1/config',
        headers: auth,
        payload: { tenant: 'callin-admin', callInGroups: [{ name: 'web', dnis: ['+14155550120'], accessCodeLength: 6 }] },
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().data.callInGroups, 1);
      const bad = await admin.inject({
        method: 'PUT',
        url: '/admin/v1/config',
        headers: auth,
        payload: { tenant: 'callin-admin', callInGroups: [{ name: 'web', dnis: ['+14155550120'], expirySeconds: 100_000 }] },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().status.errorCode, 'GES_VALIDATION');
      assert.match(bad.json().status.message, /out of valid range/);
      const get = await admin.inject({ method: 'GET', url: '/admin/v1/tenants/callin-admin/config', headers: auth });
      assert.equal(get.json().data.callInGroups[0].accessCodeLength, 6);
    } finally {
      await admin.close();
    }
  });
});
