import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, type TestDb } from './support/test-env.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { parseConfigText } from '../src/cli/config-file.ts';
import { addApiKey, findTenantByName } from '../src/store/tenant-store.ts';

/**
 * One tenant configured from one YAML document answers availability and open-for correctly on
 * clock-change days in both hemispheres and in half-hour zones. "Now" is moved to a few days
 * before each change through the clock's test hook, since availability only offers future slots.
 */
const YAML = `
tenant: dst-co
businessHours:
  - name: new-york
    timeZone: America/New_York
    weekly: { sun: ["01:00-04:00"], mon: ["09:00-17:00"] }
  - name: lord-howe
    timeZone: Australia/Lord_Howe
    weekly: { sun: ["01:00-03:00"] }
  - name: kolkata
    timeZone: Asia/Kolkata
    weekly: { mon: ["09:00-17:00"], tue: ["09:00-17:00"] }
capacityRules:
  - name: q15
    slotMinutes: 15
    defaultCapacity: 3
    weekly: {}
  - name: h30
    slotMinutes: 30
    defaultCapacity: 4
    weekly: {}
  - name: h60
    slotMinutes: 60
    defaultCapacity: 10
    weekly: {}
services:
  - { name: ny, businessHours: new-york, capacityRule: q15 }
  - { name: lhi, businessHours: lord-howe, capacityRule: h30 }
  - { name: kol, businessHours: kolkata, capacityRule: h60 }
`;

let db: TestDb;
let app: FastifyInstance;
const headers = { 'x-api-key': 'dst-test-key-000001' };

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  await applyTenantConfig(db.pool, parseConfigText(YAML, 'yaml', 'dst test'));
  await addApiKey(db.pool, (await findTenantByName(db.pool, 'dst-co'))!.id, headers['x-api-key']);
});
after(async () => {
  await app.close();
  await db.close();
});

async function get(path: string) {
  const res = await app.inject({ method: 'GET', url: `/engagement/v3/callbacks/${path}`, headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data;
}

const local = (slots: { localTime: string }[]) => slots.map((s) => s.localTime.slice(11, 16) + s.localTime.slice(23));

describe('clock-change days through the API', () => {
  test('New York spring forward (2027-03-14): 01:00-04:00 has no 02:xx slots and lasts two hours', async () => {
    db.clock.__test__pretendNow(Date.parse('2027-03-10T12:00:00Z'));
    const data = await get('availability/ny?start=2027-03-14T00:00:00&timezone=America/New_York&numberOfDays=1');
    assert.deepEqual(local(data.slots), [
      '01:00-05:00',
      '01:15-05:00',
      '01:30-05:00',
      '01:45-05:00',
      '03:00-04:00',
      '03:15-04:00',
      '03:30-04:00',
      '03:45-04:00',
    ]);
    assert.equal(data.slots[4].utcTime, '2027-03-14T07:00:00.000Z');
    assert.deepEqual(await get('open-for/ny?start=2027-03-14T01:50:00&timezone=America/New_York'), { openFor: 70 * 60 });
  });

  test('New York fall back (2027-11-07): the repeated hour is open twice, three hours of 15-minute slots become four', async () => {
    db.clock.__test__pretendNow(Date.parse('2027-11-03T12:00:00Z'));
    const data = await get('availability/ny?start=2027-11-07T00:00:00-04:00&end=2027-11-07T06:00:00-05:00&timezone=America/New_York');
    assert.equal(data.slots.length, 16);
    assert.deepEqual(local(data.slots).slice(0, 5), ['01:00-04:00', '01:15-04:00', '01:30-04:00', '01:45-04:00', '01:00-05:00']);
    assert.ok(data.slots.every((s: { capacity: number; total: number }) => s.total === 3 && s.capacity === 3));
  });

  test('Lord Howe (southern hemisphere, 30-minute change) 2027-04-04: 01:30 happens twice', async () => {
    db.clock.__test__pretendNow(Date.parse('2027-03-30T00:00:00Z'));
    const data = await get('availability/lhi?start=2027-04-04T00:00:00&timezone=Australia/Lord_Howe&numberOfDays=1');
    assert.deepEqual(local(data.slots), ['01:00+11:00', '01:30+11:00', '01:30+10:30', '02:00+10:30', '02:30+10:30']);
    // 01:00 to 03:00 local lasts two and a half hours that day.
    assert.deepEqual(await get('open-for/lhi?start=2027-04-04T01:00:00%2B11:00'), { openFor: 150 * 60 });
  });

  test('Kolkata (+05:30): hourly slots start at half past in UTC, and the local time keeps its offset', async () => {
    db.clock.__test__pretendNow(Date.parse('2027-03-10T00:00:00Z'));
    const data = await get('availability/kol?start=2027-03-15T00:00:00&timezone=Asia/Kolkata&numberOfDays=1');
    assert.equal(data.slots.length, 8);
    assert.equal(data.slots[0].utcTime, '2027-03-15T03:30:00.000Z');
    assert.equal(data.slots[0].localTime, '2027-03-15T09:00:00.000+05:30');
    // The same slots shown in another zone keep their instants.
    const inNy = await get('availability/kol?start=2027-03-15T00:00:00%2B05:30&numberOfDays=1&timezone=America/New_York');
    assert.equal(inNy.slots[0].utcTime, '2027-03-15T03:30:00.000Z');
    assert.equal(inNy.slots[0].localTime, '2027-03-14T23:30:00.000-04:00');
  });
});
