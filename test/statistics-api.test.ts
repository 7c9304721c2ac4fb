import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApi, createTestDb, createTestTenant, post, type TestDb, type TestTenant } from './support/test-env.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { buildApiApp } from '../src/main/api-app-assembly.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { createLogger } from '../src/logging/logger.ts';
import { STATISTIC_NAMES } from '../src/domain/statistics/statistic-catalog.ts';

/** POST /statistics/operations/get-statistic-ex as a dashboard uses it (docs/STATISTICS.md). */

const stat = (name: string, objectId = 'sales', objectType = 'Queue') => ({ name, objectId, objectType });
const ask = (api: FastifyInstance, tenant: TestTenant, stats: unknown[], headers: Record<string, string> = {}) =>
  post(api, '/statistics/operations/get-statistic-ex', { data: { statistics: stats } }, { 'x-api-key': tenant.apiKey, ...headers });
/** One statistic of an answer, as the tests read it. */
interface StatItem {
  name: string;
  objectId: string;
  objectType: string;
  value: unknown;
  unit?: unknown;
  message?: unknown;
}
const valueOf = (body: { data?: { statistics: StatItem[] } }, i: number) => body.data!.statistics[i]!.value as number;
/** The value with its extensions, as the route answers it: value is the number, unit and message beside it. */
const valued = (s: StatItem) => ({ value: s.value, unit: s.unit, ...(s.message === undefined ? {} : { message: s.message }) });

describe('get-statistic-ex without an engine (API-only node)', () => {
  let db: TestDb;
  let api: FastifyInstance;
  let tenant: TestTenant;
  before(async () => {
    db = await createTestDb();
    tenant = await createTestTenant(db, undefined, { sales: {}, support: {} });
    api = await buildTestApi(db);
  });
  after(async () => {
    await api.close();
    await db.close();
  });

  const schedule = (minutes: number, n: number) =>
    post(
      api,
      '/callbacks/create',
      {
        serviceName: 'sales',
        phoneNumber: `+1415555${String(4000 + n)}`,
        desiredTime: new Date(db.clock.now().getTime() + minutes * 60_000).toISOString(),
      },
      { 'x-api-key': tenant.apiKey },
    );

  test('answers every statistic asked for, in order, in the GWS shape', async () => {
    assert.equal((await schedule(120, 1)).statusCode, 200);
    const res = await ask(api, tenant, [stat('CurrentScheduledCallbacks'), stat('AgentsLoggedIn', 'sales', 'AgentGroup'), stat('ExpectedWaitTime', 'support')]);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.status.code, 200);
    const items = res.body.data.statistics;
    assert.deepEqual(
      items.map((s: StatItem) => [s.name, s.objectId, s.objectType]),
      [
        ['CurrentScheduledCallbacks', 'sales', 'Queue'],
        ['AgentsLoggedIn', 'sales', 'AgentGroup'],
        ['ExpectedWaitTime', 'support', 'Queue'],
      ],
    );
    assert.deepEqual(valued(items[0]), { value: 1, unit: 'count' });
    assert.deepEqual(valued(items[1]), { value: 0, unit: 'count' });
    assert.equal(items[2].value, -1, 'no estimate without agents');
    assert.match(items[2].message, /no agents/);
    assert.equal(typeof items[0].timestamp, 'number');
  });

  test('every statistic of the catalogue can be asked for', async () => {
    const res = await ask(
      api,
      tenant,
      STATISTIC_NAMES.map((n) => stat(n, 'support')),
    );
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.data.statistics.length, STATISTIC_NAMES.length);
    const error = res.body.data.statistics.find((s: StatItem) => s.name === 'EstimatedWaitTimeError');
    assert.deepEqual(valued(error), { value: -1, unit: 'seconds', message: 'no predicted callback connected today' });
  });

  test('bad requests are 400 in the GES envelope, naming the entry', async () => {
    const unknownStat = await ask(api, tenant, [stat('ExpectedWaitTime'), stat('TotalNumberInboundCalls')]);
    assert.equal(unknownStat.statusCode, 400);
    assert.equal(unknownStat.body.status.errorCode, 'GES_VALIDATION');
    assert.match(unknownStat.body.status.message, /statistics\[1\]\.name/);
    const unknownQueue = await ask(api, tenant, [stat('ExpectedWaitTime', 'salse')]);
    assert.equal(unknownQueue.statusCode, 400);
    assert.equal(unknownQueue.body.status.errorCode, 'GES_SERVICE_UNKNOWN');
    assert.match(unknownQueue.body.status.message, /salse/);
    const wrongType = await ask(api, tenant, [stat('ExpectedWaitTime', 'sales', 'AgentGroup')]);
    assert.equal(wrongType.statusCode, 400);
    const empty = await post(api, '/statistics/operations/get-statistic-ex', { data: {} }, { 'x-api-key': tenant.apiKey });
    assert.equal(empty.statusCode, 400);
    assert.ok(empty.body.status.corrId);
    const noKey = await post(api, '/statistics/operations/get-statistic-ex', { data: { statistics: [stat('ExpectedWaitTime')] } });
    assert.equal(noKey.statusCode, 401);
  });

  test("no body at all (as GES's client sends it) answers the default set for every service", async () => {
    for (const headers of [{ 'content-type': 'application/json', 'content-length': '0' }, {}]) {
      const res = await api.inject({
        method: 'POST',
        url: '/engagement/v3/statistics/operations/get-statistic-ex',
        headers: { 'x-api-key': tenant.apiKey, ...headers },
      });
      assert.equal(res.statusCode, 200, res.body);
      const items = res.json<{ data: { statistics: StatItem[] } }>().data.statistics;
      assert.deepEqual([...new Set(items.map((s) => s.objectId))], ['sales', 'support']);
      assert.deepEqual(
        items.filter((s) => s.objectId === 'sales').map((s) => s.name),
        ['CurrentWaitingCallbacks', 'CurrentScheduledCallbacks', 'ExpectedWaitTime', 'AgentsLoggedIn', 'AgentsAvailable'],
      );
      assert.ok(items.every((s) => typeof s.value === 'number'));
    }
  });

  test('GWS names are answered under the name asked; one GES cannot compute is a 400 naming the supported set', async () => {
    const res = await ask(api, tenant, [stat('CurrNumberWaitingCalls'), stat('ExpectedWaitTime', 'sales', 'queue')]);
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.data.statistics.map((s: StatItem) => [s.name, s.objectType, typeof s.value]),
      [
        ['CurrNumberWaitingCalls', 'Queue', 'number'],
        ['ExpectedWaitTime', 'Queue', 'number'],
      ],
    );
    const inbound = await ask(api, tenant, [stat('TotalNumberInboundCalls')]);
    assert.equal(inbound.statusCode, 400);
    assert.match(inbound.body.status.message, /inbound calls.*supported: .*CurrentWaitingCallbacks/);
  });

  test('answers are kept 5 minutes; max-age (at least 15 s) bounds how old an answer a client accepts', async () => {
    const asked = [stat('CurrentScheduledCallbacks', 'support')];
    const t0 = Date.now();
    db.clock.__test__pretendNow(t0);
    const first = await ask(api, tenant, asked);
    assert.equal(valueOf(first.body, 0), 0);
    assert.equal(first.headers.age, '0');
    await post(
      api,
      '/callbacks/create',
      { serviceName: 'support', phoneNumber: '+14155554100', desiredTime: new Date(t0 + 3 * 3600_000).toISOString() },
      { 'x-api-key': tenant.apiKey },
    );

    db.clock.__test__pretendNow(t0 + 10_000);
    const young = await ask(api, tenant, asked, { 'cache-control': 'max-age=0' });
    assert.equal(valueOf(young.body, 0), 0, 'max-age below 15 counts as 15: a 10 s old answer is served');
    assert.ok(['9', '10'].includes(String(young.headers.age)), `Age says how old the answer is: ${young.headers.age}`);

    db.clock.__test__pretendNow(t0 + 4 * 60_000);
    assert.equal(valueOf((await ask(api, tenant, asked)).body, 0), 0, 'without cache-control a 4-minute-old answer is served');
    const fresh = await ask(api, tenant, asked, { 'cache-control': 'max-age=60' });
    assert.equal(valueOf(fresh.body, 0), 1, 'max-age=60 refuses the 4-minute-old answer');
    assert.equal(fresh.headers.age, '0');

    db.clock.__test__pretendNow(t0 + 4 * 60_000 + 5 * 60_000 + 1000);
    await post(
      api,
      '/callbacks/create',
      { serviceName: 'support', phoneNumber: '+14155554101', desiredTime: new Date(t0 + 4 * 3600_000).toISOString() },
      { 'x-api-key': tenant.apiKey },
    );
    assert.equal(valueOf((await ask(api, tenant, asked)).body, 0), 2, 'after 5 minutes nothing kept is served');
    db.clock.__test__pretendNow(Date.now());
  });
});

describe('get-statistic-ex on a working contact center (simulator)', () => {
  test('queue figures and the estimator error come from what happened', async () => {
    const db = await createTestDb();
    const t = await createTestTenant(db, undefined, { sales: {} });
    // Near the real time: Postgres stamps created_at (an immediate callback's queue entry) with its own clock.
    const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
    const startedAt = clock.now();
    db.clock.__test__pretendNow(clock.now());
    const sim = new ContactCenterSimulator({
      seed: 11,
      clock,
      queues: { [`${t.name}/sales`]: { agents: 2, handleTimeSec: { mean: 120, sd: 30 }, wrapUpSec: 5 } },
      customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
      customerPatienceSec: 3600,
    });
    const measured: { predictedSec: number; actualSec: number }[] = [];
    const engine = new CallbackEngine({
      db: db.pool,
      hot: new MemoryHotState(),
      voice: sim,
      clock: simulatedEngineClock(clock),
      logger: createLogger('silent'),
      pollMs: 1000,
      observer: { waitMeasured: (e) => measured.push(e) },
    });
    const callbacks = new CallbackService(db.pool, db.clock);
    callbacks.attach(engine, (err) => {
      throw err;
    });
    const api = await buildApiApp({
      pool: db.pool,
      logger: createLogger('silent'),
      bodyLimitBytes: 65536,
      callbacks,
      availability: new AvailabilityService(db.pool, db.clock),
      engine,
    });
    await sim.start();
    await engine.start();
    try {
      const tenant = { id: t.id, name: t.name };
      // A first wave teaches the estimators the handle time; the second is predicted with it.
      for (let i = 0; i < 4; i++) await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${5000 + i}` });
      const run = async (ms: number) => {
        const end = clock.now() + ms;
        while (clock.now() < end) {
          clock.advanceBy(1000);
          await engine.idle();
          db.clock.__test__pretendNow(clock.now());
        }
      };
      await run(10 * 60_000);
      for (let i = 0; i < 8; i++) await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${5100 + i}` });
      await run(40 * 60_000);

      const names = ['CallbacksCompletedToday', 'CurrentWaitingCallbacks', 'AverageHandleTime', 'AverageWaitTime', 'EstimatedWaitTimeError', 'AgentsLoggedIn'];
      const res = await ask(
        api,
        t,
        names.map((n) => stat(n)),
      );
      assert.equal(res.statusCode, 200);
      const v = Object.fromEntries(res.body.data.statistics.map((s: StatItem) => [s.name, valued(s)]));
      // "Today" is since midnight in the service's zone (UTC here); a run across midnight counts only what came after it.
      const midnight = new Date(clock.now()).setUTCHours(0, 0, 0, 0);
      const { rows: done } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE state = 5 AND updated_at >= $1', [
        new Date(midnight),
      ]);
      assert.equal(v.CallbacksCompletedToday.value, midnight <= startedAt ? 12 : done[0]!.n);
      assert.equal(v.CurrentWaitingCallbacks.value, 0);
      assert.equal(v.AgentsLoggedIn.value, 2);
      assert.ok(v.AverageHandleTime.value > 30, `handle time learned: ${JSON.stringify(v.AverageHandleTime)}`);
      assert.ok(v.AverageWaitTime.value > 0, 'the second wave waited for agents');

      // The first wave had no history to predict from; every callback of the second was predicted as it
      // joined and measured as it reached an agent.
      assert.equal(measured.length, 8);
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE ewt_at IS NOT NULL');
      assert.equal(rows[0]!.n, 8, 'the prediction is kept with the callback');
      const mae = measured.reduce((s, m) => s + Math.abs(m.predictedSec - m.actualSec), 0) / measured.length;
      if (midnight <= startedAt)
        assert.ok(
          Math.abs(v.EstimatedWaitTimeError.value - mae) <= 1.5,
          `statistic ${v.EstimatedWaitTimeError.value} s matches the measured ${mae.toFixed(1)} s`,
        );
      assert.ok(
        measured.some((m) => m.actualSec > 60),
        'some callbacks really waited',
      );
      assert.ok(measured.filter((m) => m.predictedSec > 0).length >= 6, 'callbacks queued behind others were predicted a wait');
    } finally {
      await engine.stop();
      await sim.stop();
      await api.close();
      await db.close();
    }
  });
});
