import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Temporal } from 'temporal-polyfill';
import { Value } from 'typebox/value';
import fc from 'fast-check';
import { AvailabilityResponse } from '../src/http/schemas/calendar-schemas.ts';
import { buildTestApi, createTestDb, post, type TestDb } from './support/test-env.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { addApiKey, findTenantByName } from '../src/store/tenant-store.ts';

let db: TestDb;
let app: FastifyInstance;
const apiKey = 'calendar-test-key-0001';
const headers = { 'x-api-key': apiKey };
const ZONE = 'America/New_York';

/** The next weekday (Mon-Fri) at least `aheadDays` ahead, as a NY date. */
function nextWeekday(aheadDays: number): Temporal.PlainDate {
  let d = Temporal.Now.plainDateISO(ZONE).add({ days: aheadDays });
  while (d.dayOfWeek > 5) d = d.add({ days: 1 });
  return d;
}
const at = (date: Temporal.PlainDate, time: string) =>
  date
    .toZonedDateTime({ timeZone: ZONE, plainTime: Temporal.PlainTime.from(time) })
    .toInstant()
    .toString({ fractionalSecondDigits: 3 });

const day1 = nextWeekday(2);
const day2 = nextWeekday(day1.since(Temporal.Now.plainDateISO(ZONE)).days + 1);
const holiday = nextWeekday(day2.since(Temporal.Now.plainDateISO(ZONE)).days + 1);

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  const weekdays = { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] };
  const cap = [{ from: '09:00', to: '17:00', capacity: 2 }];
  await applyTenantConfig(db.pool, {
    tenant: 'calco',
    businessHours: [{ name: 'ny-office', timeZone: ZONE, weekly: weekdays, specialDays: [{ date: holiday.toString(), closed: true }] }],
    capacityRules: [{ name: 'two-per-slot', slotMinutes: 15, defaultCapacity: 0, weekly: { mon: cap, tue: cap, wed: cap, thu: cap, fri: cap } }],
    services: [
      { name: 'cal', businessHours: 'ny-office', capacityRule: 'two-per-slot', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } },
      {
        name: 'strict-hours',
        businessHours: 'ny-office',
        capacityRule: 'two-per-slot',
        options: { rejectOutOfHours: true, inQueueChecking: 'false', requestsPerNumberPer24h: 0 },
      },
      { name: 'notice', businessHours: 'ny-office', capacityRule: 'two-per-slot', options: { minNoticeMinutes: 10080, horizonDays: 14 } },
      { name: 'race', businessHours: 'ny-office', capacityRule: 'two-per-slot', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } },
      { name: 'prop', businessHours: 'ny-office', capacityRule: 'two-per-slot', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } },
    ],
  });
  const tenant = (await findTenantByName(db.pool, 'calco'))!;
  await addApiKey(db.pool, tenant.id, apiKey);
});
after(async () => {
  await app.close();
  await db.close();
});

let seq = 0;
const phone = () => `+1646555${String(1000 + ++seq).slice(-4)}`;
/** alwaysCheckCapacity: a full slot is a 429 here; without it the callback moves to the next slot with room (tested below). */
const create = (service: string, desiredTime: string, alwaysCheckCapacity = true) =>
  post(app, '/callbacks/create', { serviceName: service, phoneNumber: phone(), desiredTime, alwaysCheckCapacity }, headers);

async function availability(service: string, query: Record<string, string | number | boolean>) {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const res = await app.inject({ method: 'GET', url: `/engagement/v3/callbacks/availability/${encodeURIComponent(service)}?${qs}`, headers });
  return { statusCode: res.statusCode, body: res.json() };
}

/** The booking invariant: every slot counter equals the active callbacks that hold that slot. */
async function assertCountersMatchCallbacks(): Promise<void> {
  const { rows } = await db.pool.query(`
    SELECT b.service_id, b.slot_start, b.booked, count(c.id)::int AS active
      FROM slot_booking b LEFT JOIN callback c ON c.service_id = b.service_id AND c.slot_at = b.slot_start AND c.state < 5
     GROUP BY 1, 2, 3 HAVING b.booked <> count(c.id)`);
  assert.deepEqual(rows, [], 'slot counters equal the active callbacks of their slot');
}

describe('availability', () => {
  test('lists the open slots of the service with capacity, in the requested zone', async () => {
    const res = await availability('cal', { start: `${day1.toString()}T00:00:00.000`, timezone: ZONE, numberOfDays: 1 });
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    assert.equal(res.body.status.code, 200);
    const data = res.body.data;
    assert.equal(data.durationMin, 15);
    assert.equal(data.timezone, ZONE);
    assert.equal(data.slots.length, 32, '09:00-17:00 in 15-minute slots');
    assert.equal(data.slots[0].utcTime, at(day1, '09:00'));
    assert.match(data.slots[0].localTime, new RegExp(`^${day1.toString()}T09:00:00\\.000-0[45]:00$`));
    assert.equal(data.slots[31].localTime.slice(11, 16), '16:45');
    assert.ok(data.slots.every((s: { capacity: number; total: number }) => s.capacity === 2 && s.total === 2));
    assert.ok(Value.Check(AvailabilityResponse, res.body), 'the hand-written bytes match the documented schema');
  });

  test('maxTimeSlots, UTC default, epoch-ms bounds and an end equal to start', async () => {
    const limited = await availability('cal', { start: at(day1, '08:00'), end: at(day1, '18:00'), maxTimeSlots: 3 });
    assert.equal(limited.body.data.slots.length, 3);
    assert.equal(limited.body.data.timezone, 'UTC');
    assert.match(limited.body.data.slots[0].localTime, /Z$|\+00:00$/);
    const ms = await availability('cal', { startMS: Date.parse(at(day1, '10:00')), endMS: Date.parse(at(day1, '11:00')) });
    assert.equal(ms.body.data.slots.length, 4);
    const single = await availability('cal', { start: at(day1, '10:05') });
    assert.deepEqual(
      single.body.data.slots.map((s: { utcTime: string }) => s.utcTime),
      [at(day1, '10:00')],
      'without end: the slot containing start',
    );
  });

  test('closed days, past times and days beyond the horizon offer nothing', async () => {
    const closed = await availability('cal', { start: `${holiday.toString()}T00:00:00`, timezone: ZONE, numberOfDays: 1 });
    assert.deepEqual(closed.body.data.slots, []);
    const past = await availability('cal', { start: '2020-01-06T00:00:00Z', numberOfDays: 5 });
    assert.deepEqual(past.body.data.slots, []);
    const far = await availability('cal', { start: new Date(Date.now() + 20 * 86_400_000).toISOString(), numberOfDays: 7 });
    assert.deepEqual(far.body.data.slots, []);
  });

  test('every offered slot can be booked at its utcTime, even with a minimum notice', async () => {
    const soon = await availability('notice', { numberOfDays: 14, maxTimeSlots: 3 });
    assert.equal(soon.statusCode, 200);
    for (const slot of soon.body.data.slots) {
      assert.ok(Date.parse(slot.utcTime) >= Date.now() + 10080 * 60_000 - 1000, 'after the notice');
      const r = await post(app, '/callbacks/create', { serviceName: 'notice', phoneNumber: phone(), desiredTime: slot.utcTime }, headers);
      assert.equal(r.statusCode, 200, JSON.stringify(r.body));
    }
  });

  const bad: [string, Record<string, string | number>, string, RegExp][] = [
    ['start with startMS', { start: at(day1, '09:00'), startMS: 1 }, 'GES_VALIDATION', /start or startMS/],
    ['end with numberOfDays', { end: at(day1, '09:00'), numberOfDays: 1 }, 'GES_VALIDATION', /only one of end, endMS and numberOfDays/],
    ['an unknown zone', { timezone: 'Mars/Olympus' }, 'GES_TIMEZONE_INVALID', /Mars\/Olympus/],
    ['a range over a month', { start: at(day1, '09:00'), endMS: Date.parse(at(day1, '09:00')) + 40 * 86_400_000 }, 'GES_VALIDATION', /31 days/],
    ['an end before the start', { start: at(day1, '09:00'), end: at(day1, '08:00') }, 'GES_VALIDATION', /before start/],
    ['an unreadable start', { start: 'monday' }, 'GES_VALIDATION', /start must be/],
    ['a non-numeric maxTimeSlots', { maxTimeSlots: 'many' }, 'GES_VALIDATION', /maxTimeSlots/],
    ['an infinite numberOfDays', { numberOfDays: '1e999' }, 'GES_VALIDATION', /numberOfDays/],
    ['a start in year 9999', { start: '9999-12-31T23:59:59Z' }, 'GES_VALIDATION', /between 1970 and 2199/],
    ['a start before the epoch', { start: '-000001-01-01T00:00:00Z' }, 'GES_VALIDATION', /between 1970 and 2199/],
  ];
  for (const [name, query, code, message] of bad) {
    test(`refuses ${name} with 400`, async () => {
      const res = await availability('cal', query);
      assert.equal(res.statusCode, 400, JSON.stringify(res.body));
      assert.equal(res.body.status.errorCode, code);
      assert.match(res.body.status.message, message);
    });
  }

  test('no query or path a client can send to availability or open-for produces a 5xx', async () => {
    const values = [
      '',
      'x',
      '2030-02-30T10:00:00',
      '9999-12-31T23:59:59Z',
      '+275760-09-13T00:00:00Z',
      '2030-01-01T00:00:00+25:00',
      '-1',
      '1e999',
      'NaN',
      '2030-03-10T02:30:00',
      '../../etc',
      'Etc/GMT+12',
      'true',
      '8640000000001',
      '99999999999999999999',
    ];
    for (const path of ['availability/cal', 'open-for/cal', 'availability/%00', 'open-for/%E2%80%AE%00']) {
      for (const param of ['start', 'startMS', 'end', 'endMS', 'numberOfDays', 'timezone', 'maxTimeSlots', 'reportBusy']) {
        for (const value of values) {
          const res = await app.inject({ method: 'GET', url: `/engagement/v3/callbacks/${path}?${param}=${encodeURIComponent(value)}`, headers });
          assert.ok(res.statusCode < 500, `${path}?${param}=${value} -> ${res.statusCode} ${res.body}`);
        }
      }
    }
  });

  test("an unknown service is a 400 and another tenant's key sees nothing", async () => {
    const res = await availability('nope', {});
    assert.equal(res.statusCode, 400);
    assert.equal(res.body.status.errorCode, 'GES_SERVICE_UNKNOWN');
  });
});

describe('booking', () => {
  test("a booking reduces exactly its slot's capacity, and a cancel gives it back", async () => {
    const before = (await availability('cal', { start: at(day1, '11:00'), end: at(day1, '12:00') })).body.data.slots;
    const created = await create('cal', at(day1, '11:20'));
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const afterBooking = (await availability('cal', { start: at(day1, '11:00'), end: at(day1, '12:00') })).body.data.slots;
    assert.deepEqual(
      afterBooking.map((s: { capacity: number }) => s.capacity),
      before.map((s: { utcTime: string; capacity: number }) => s.capacity - (s.utcTime === at(day1, '11:15') ? 1 : 0)),
    );
    await post(app, '/callbacks/cancel', { id: created.body.data.id }, headers);
    const afterCancel = (await availability('cal', { start: at(day1, '11:00'), end: at(day1, '12:00') })).body.data.slots;
    assert.deepEqual(afterCancel, before);
    await assertCountersMatchCallbacks();
  });

  test('with alwaysCheckCapacity a full slot answers 429 with the next slots proposed, and never moves the callback', async () => {
    assert.equal((await create('cal', at(day1, '13:00'))).statusCode, 200);
    assert.equal((await create('cal', at(day1, '13:14'))).statusCode, 200);
    const full = await create('cal', at(day1, '13:05'));
    assert.equal(full.statusCode, 429);
    assert.equal(full.body.status.code, 429);
    assert.equal(full.body.status.errorCode, 'GES_SLOT_FULL');
    assert.deepEqual(full.body.data, {
      slots: { [at(day1, '13:15')]: '2', [at(day1, '13:30')]: '2', [at(day1, '13:45')]: '2', [at(day1, '14:00')]: '2', [at(day1, '14:15')]: '2' },
    });
    const busy = await availability('cal', { start: at(day1, '13:00'), end: at(day1, '13:30'), reportBusy: true });
    assert.deepEqual(
      busy.body.data.slots.map((s: { capacity: number }) => s.capacity),
      [0, 2],
    );
    const quiet = await availability('cal', { start: at(day1, '13:00'), end: at(day1, '13:30') });
    assert.deepEqual(
      quiet.body.data.slots.map((s: { utcTime: string }) => s.utcTime),
      [at(day1, '13:15')],
    );
    await assertCountersMatchCallbacks();
  });

  test('without alwaysCheckCapacity a full slot moves the callback to the next slot with room, and says where', async () => {
    assert.equal((await create('cal', at(day2, '13:00'))).statusCode, 200);
    assert.equal((await create('cal', at(day2, '13:01'))).statusCode, 200);
    const moved = await create('cal', at(day2, '13:05'), false);
    assert.equal(moved.statusCode, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.data.desiredTime, at(day2, '13:15'));
    const got = await post(app, '/callbacks/retrieve', { id: moved.body.data.id }, headers);
    assert.deepEqual([got.body.data.callbackState, got.body.data.desiredTime], ['SCHEDULED', at(day2, '13:15')]);
    await assertCountersMatchCallbacks();
  });

  test('off-hours requests book the next opening, or are refused where the service says so', async () => {
    const evening = at(day1, '20:00');
    assert.equal((await create('cal', evening)).body.status.errorCode, 'GES_OUTSIDE_BUSINESS_HOURS', 'alwaysCheckCapacity never moves a request off its slot');
    const res = await create('cal', evening, false);
    assert.equal(res.statusCode, 200);
    const got = await post(app, '/callbacks/retrieve', { id: res.body.data.id }, headers);
    assert.equal(got.body.data.desiredTime, at(day2, '09:00'), 'the first slot of the next business day');
    const refused = await create('strict-hours', evening);
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.body.status.errorCode, 'GES_OUTSIDE_BUSINESS_HOURS');
    const holidayRefused = await create('strict-hours', at(holiday, '10:00'));
    assert.equal(holidayRefused.body.status.errorCode, 'GES_OUTSIDE_BUSINESS_HOURS');
  });

  test('minimum notice is enforced', async () => {
    const res = await create('notice', at(day1, '10:00'));
    assert.equal(res.statusCode, 400);
    assert.equal(res.body.status.errorCode, 'GES_DESIRED_TIME_TOO_SOON');
  });

  test('reschedule moves capacity in the same statement and refuses a full target slot', async () => {
    const a = await create('cal', at(day2, '10:00'));
    const b1 = await create('cal', at(day2, '11:00'));
    const b2 = await create('cal', at(day2, '11:05'));
    assert.ok([a, b1, b2].every((r) => r.statusCode === 200));
    const into = await post(app, '/callbacks/reschedule', { id: a.body.data.id, desiredTime: at(day2, '11:10') }, headers);
    assert.equal(into.statusCode, 429);
    assert.equal(into.body.status.errorCode, 'GES_SLOT_FULL');
    const moved = await post(app, '/callbacks/reschedule', { id: a.body.data.id, desiredTime: at(day2, '12:00') }, headers);
    assert.equal(moved.statusCode, 200);
    const slots = (await availability('cal', { start: at(day2, '10:00'), end: at(day2, '12:15'), reportBusy: true })).body.data.slots;
    const cap = (t: string) => slots.find((s: { utcTime: string }) => s.utcTime === at(day2, t)).capacity;
    assert.deepEqual([cap('10:00'), cap('11:00'), cap('12:00')], [2, 0, 1]);
    const same = await post(app, '/callbacks/reschedule', { id: a.body.data.id, desiredTime: at(day2, '12:10') }, headers);
    assert.equal(same.statusCode, 200, 'moving inside its own slot needs no new place');
    await assertCountersMatchCallbacks();
  });

  test('parallel creates, cancels and reschedules never overbook', async () => {
    const target = at(day2, '15:00');
    const holders = [await create('race', at(day2, '16:00')), await create('race', at(day2, '16:15')), await create('race', target)];
    assert.ok(holders.every((r) => r.statusCode === 200));
    const ops = [
      ...Array.from({ length: 16 }, () => create('race', at(day2, '15:07'))),
      post(app, '/callbacks/cancel', { id: holders[2]!.body.data.id }, headers),
      post(app, '/callbacks/reschedule', { id: holders[0]!.body.data.id, desiredTime: at(day2, '15:03') }, headers),
      post(app, '/callbacks/reschedule', { id: holders[1]!.body.data.id, desiredTime: at(day2, '15:11') }, headers),
    ];
    const results = await Promise.all(ops);
    assert.ok(
      results.every((r) => [200, 429].includes(r.statusCode)),
      JSON.stringify(results.filter((r) => ![200, 429].includes(r.statusCode)).map((r) => r.body)),
    );
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM callback WHERE slot_at = $1 AND state < 5`, [target]);
    assert.equal(rows[0].n, 2, 'exactly the capacity holds the slot');
    await assertCountersMatchCallbacks();
  });

  test('twenty concurrent creates for the last places of a slot: exactly the capacity succeeds', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => create('race', at(day1, '16:30'))));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 2);
    assert.equal(results.filter((r) => r.statusCode === 429).length, 18);
    await assertCountersMatchCallbacks();
  });
});

describe('booking property (fast-check against real Postgres)', () => {
  test("after any sequence of bookings, cancels and reschedules, availability shows each slot's capacity minus its active callbacks", async () => {
    const times = ['09:00', '09:07', '09:14', '09:20', '09:31', '09:44'].map((t) => at(day2, t));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), t: fc.integer({ min: 0, max: times.length - 1 }) }),
      fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('move' as const), which: fc.nat(), t: fc.integer({ min: 0, max: times.length - 1 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        await db.pool.query(`UPDATE callback SET state = 5 WHERE service_id = (SELECT id FROM callback_service WHERE name = 'prop')`);
        await db.pool.query(`DELETE FROM slot_booking WHERE service_id = (SELECT id FROM callback_service WHERE name = 'prop')`);
        const ids: string[] = [];
        for (const o of ops) {
          if (o.kind === 'create') {
            const r = await create('prop', times[o.t]!);
            if (r.statusCode === 200) ids.push(r.body.data.id);
            else assert.equal(r.statusCode, 429);
          } else if (ids.length > 0 && o.kind === 'cancel') {
            await post(app, '/callbacks/cancel', { id: ids[o.which % ids.length] }, headers);
          } else if (ids.length > 0 && o.kind === 'move') {
            const r = await post(app, '/callbacks/reschedule', { id: ids[o.which % ids.length], desiredTime: times[o.t] }, headers);
            assert.ok([200, 400, 429].includes(r.statusCode), JSON.stringify(r.body));
          }
        }
        const slots = (await availability('prop', { start: at(day2, '09:00'), end: at(day2, '10:00'), reportBusy: true })).body.data.slots;
        const { rows } = await db.pool.query(
          `SELECT slot_at, count(*)::int AS n FROM callback WHERE state < 5 AND service_id = (SELECT id FROM callback_service WHERE name = 'prop') GROUP BY 1`,
        );
        const active = new Map(rows.map((r: { slot_at: Date; n: number }) => [r.slot_at.toISOString(), r.n]));
        for (const s of slots) assert.equal(s.capacity, s.total - (active.get(s.utcTime) ?? 0), `slot ${s.utcTime}`);
        assert.ok(
          [...active.values()].every((n) => n <= 2),
          'never above capacity',
        );
        await assertCountersMatchCallbacks();
      }),
      { numRuns: 15 },
    );
  });
});

describe('open-for', () => {
  async function openFor(name: string, query: Record<string, string>) {
    const qs = new URLSearchParams(query).toString();
    const res = await app.inject({ method: 'GET', url: `/engagement/v3/callbacks/open-for/${name}?${qs}`, headers });
    return { statusCode: res.statusCode, body: res.json() };
  }

  test('seconds until closing, by service or by business-hours name; 0 when closed', async () => {
    assert.deepEqual((await openFor('cal', { start: at(day1, '16:00') })).body.data, { openFor: 3600 });
    assert.deepEqual((await openFor('ny-office', { start: `${day1.toString()}T16:30:00`, timezone: ZONE })).body.data, { openFor: 1800 });
    assert.equal((await openFor('cal', { start: at(day1, '17:00') })).body.data.openFor, 0);
    assert.equal((await openFor('cal', { start: at(holiday, '12:00') })).body.data.openFor, 0);
    const legacy = await app.inject({ method: 'GET', url: `/engagement/v3/callbacks/openfor/cal?start=${at(day1, '16:00')}`, headers });
    assert.equal(legacy.json().data.openFor, 3600);
  });

  test('unknown names, zones and times are 400', async () => {
    assert.equal((await openFor('nothing', {})).body.status.errorCode, 'GES_SERVICE_UNKNOWN');
    assert.equal((await openFor('cal', { timezone: 'Nowhere/City' })).body.status.errorCode, 'GES_TIMEZONE_INVALID');
    assert.equal((await openFor('cal', { start: 'noon' })).statusCode, 400);
  });
});
