import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedEngine } from './support/simulated-engine.ts';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator, type DispositionChoice } from '../src/voice/simulator/contact-center-simulator.ts';
import type { ServiceOptions } from '../src/domain/service-options.ts';
import type { DispositionCode } from '../src/domain/disposition.ts';
import { listEvents } from '../src/store/callback-history.ts';
import { buildConsoleApp, createRoleUsers, get, signIn } from './support/console-env.ts';
import { RecordingPort } from './support/recording-voice-port.ts';

/**
 * The disposition flow on Postgres, the engine and the simulated contact center (docs/ENGINE.md,
 * "Disposition"): the dialog asked for after a served call, the agent's outcome in the history,
 * CALL_BACK_LATER recreating one linked callback however often its event arrives, and TIMEOUT
 * when no outcome comes.
 */

/** The simulator behind a port that records commands and events, and re-delivers events as a stream redelivery would. */

async function served(t: TestContext, service: Partial<ServiceOptions>, perNumber: Record<string, DispositionChoice>) {
  const db = await createTestDb();
  t.after(() => db.close());
  const tenant = await createTestTenant(db, undefined, { sales: service });
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 11,
    clock,
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { [`${tenant.name}/sales`]: { agents: 1, handleTimeSec: { mean: 30, sd: 0 } } },
    dispositions: { perNumber },
  });
  const voice = new RecordingPort(sim);
  const recorded: DispositionCode[] = [];
  const { engine, callbacks } = await startSimulatedEngine(t, db, voice, clock, {
    sweepMs: 5000,
    observer: { disposition: (e) => recorded.push(e.code) },
  });
  const who = { id: tenant.id, name: tenant.name };
  const step = async (ms: number) => {
    clock.advanceBy(ms);
    await engine.idle();
    db.clock.__test__pretendNow(clock.now());
  };
  return {
    db,
    clock,
    voice,
    callbacks,
    who,
    recorded,
    step,
    history: (id: string) => listEvents(db.pool, tenant.id, id),
    /** Steps simulated time until `done` (at most `maxMs`). */
    async until(done: () => Promise<boolean> | boolean, maxMs = 600_000, stepMs = 1000) {
      for (let ms = 0; ms < maxMs; ms += stepMs) {
        if (await done()) return;
        await step(stepMs);
      }
      assert.fail('the condition was not met in simulated time');
    },
    dispositionOf: async (id: string) =>
      (await db.pool.query<{ disposition: number | null }>('SELECT disposition FROM callback WHERE id = $1', [id])).rows[0]!.disposition,
    callbacksOf: async (phoneNumber: string) => (await callbacks.find(who, { phoneNumber })).callbacks,
  };
}

const DIALOG: Partial<ServiceOptions> = { enableDispositionDialog: true, agentDispositionTimeoutSec: 45, callBackLaterDelaySec: 7200 };

test('call me back later: one new scheduled callback at the agent’s time, linked both ways, however often the disposition arrives', async (t) => {
  const phone = '+14155553001';
  const cc = await served(t, DIALOG, { [phone]: { code: 'CALL_BACK_LATER', desiredInSec: 3 * 3600, afterSec: 5, note: 'after the meeting' } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: phone, userData: { orderId: 'A-17' } });
  cc.voice.holding = (e) => e.type === 'disposition';
  await cc.until(() => cc.voice.held.length > 0);
  // Delivered twice at once (two nodes, or a redelivery racing the first), then once more after.
  const event = cc.voice.held[0]!;
  await Promise.all([cc.voice.emit(event), cc.voice.emit(event)]);
  await cc.voice.emit(event);
  await cc.step(0);
  const original = await cc.callbacks.retrieve(cc.who, id);
  assert.equal(original.state, 'COMPLETED');
  assert.equal(original.reason, 'AGENT_CONNECTED', 'the callback completes as without the dialog');
  const request = cc.voice.sent.find((c) => c.type === 'disposition_request');
  assert.deepEqual(request, { type: 'disposition_request', dialKey: `${id}:1`, timeoutSec: 45 });

  assert.ok(event.type === 'disposition' && event.desiredTime !== undefined);
  const others = (await cc.callbacksOf(phone)).filter((c) => c.id !== id);
  assert.equal(others.length, 1, 'one recreated callback, for three deliveries');
  const recreated = others[0]!;
  assert.equal(recreated.state, 'SCHEDULED');
  assert.equal(recreated.desiredTime.toISOString(), event.desiredTime, 'the desired time the agent chose');
  assert.equal(recreated.serviceName, 'sales');
  assert.deepEqual((await cc.callbacks.retrieve(cc.who, recreated.id)).userData, { orderId: 'A-17' }, 'the userData of the original');

  const dispositions = (await cc.history(id)).filter((e) => e.kind === 'DISPOSITION');
  assert.deepEqual(
    dispositions.map((e) => e.detail),
    ['disposition requested (45 s)', `disposition CALL_BACK_LATER, by agent ${event.agentId}, recreated as ${recreated.id}: after the meeting`],
  );
  const link = (await cc.history(recreated.id)).filter((e) => e.detail === `recreated from ${id}`);
  assert.equal(link.length, 1, 'the new callback names the one it was recreated from, once');
  assert.deepEqual(cc.recorded, ['CALL_BACK_LATER'], 'counted once');

  // The console's callback page shows the disposition, with the link to the recreated callback.
  const ui = await buildConsoleApp(cc.db);
  t.after(() => ui.app.close());
  await createRoleUsers(ui.users, cc.who);
  const page = await get(ui.app, await signIn(ui.app, cc.who.name, 'supervisor'), `/ges/callbacks/${id}`);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<td>DISPOSITION<\/td>/);
  assert.ok(page.body.includes(`recreated as <a href="/ges/callbacks/${recreated.id}">${recreated.id}</a>: after the meeting`), 'linked to the new callback');
});

test('call me back later without a time: the service’s delay after the dialog was shown', async (t) => {
  const phone = '+14155553002';
  const cc = await served(t, DIALOG, { [phone]: { code: 'CALL_BACK_LATER', afterSec: 3 } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: phone });
  await cc.until(async () => (await cc.callbacksOf(phone)).length === 2);
  const requested = (await cc.history(id)).find((e) => e.detail === 'disposition requested (45 s)')!;
  const recreated = (await cc.callbacksOf(phone)).find((c) => c.id !== id)!;
  assert.equal(recreated.desiredTime.getTime(), requested.at.getTime() + 7200 * 1000, 'callBackLaterDelaySec after the request');
  assert.equal(recreated.state, 'SCHEDULED');
});

test('an outcome that never comes is recorded TIMEOUT after the timeout; a late one then changes nothing', async (t) => {
  const phone = '+14155553003';
  const cc = await served(t, DIALOG, { [phone]: { code: 'none' } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: phone });
  await cc.until(async () => (await cc.dispositionOf(id)) === 0);
  const requestedAt = cc.clock.now();
  await cc.until(async () => (await cc.dispositionOf(id)) !== 0, 300_000);
  const waitedSec = (cc.clock.now() - requestedAt) / 1000;
  assert.ok(waitedSec >= 45 && waitedSec <= 45 + 15 + 10, `timed out after ${waitedSec} s (timeout 45 s, grace 15 s, sweep 5 s)`);
  const history = await cc.history(id);
  assert.equal(history.filter((e) => e.detail === 'disposition TIMEOUT').length, 1);
  assert.deepEqual(cc.recorded, ['TIMEOUT']);

  await cc.voice.emit({ type: 'disposition', dialKey: `${id}:1`, agentId: 'late-agent', code: 'CALL_BACK_LATER', at: cc.clock.now() });
  await cc.step(0);
  assert.equal((await cc.callbacksOf(phone)).length, 1, 'no recreate after the timeout');
  assert.equal((await cc.history(id)).filter((e) => e.kind === 'DISPOSITION').length, 2, 'requested and TIMEOUT only');
});

test('a disposition with a note is kept in the history; a refused recreate is recorded with its reason', async (t) => {
  const done = '+14155553004';
  const far = '+14155553005';
  const cc = await served(
    t,
    { ...DIALOG, horizonDays: 1 },
    {
      [done]: { code: 'DONE', note: 'order changed', afterSec: 2 },
      [far]: { code: 'CALL_BACK_LATER', desiredInSec: 5 * 86400, afterSec: 2 },
    },
  );
  const a = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: done });
  const b = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: far });
  await cc.until(async () => (await cc.dispositionOf(a.id)) === 1 && (await cc.dispositionOf(b.id)) === 2);
  const agent = cc.voice.heard.find((e) => e.type === 'disposition' && e.dialKey === `${a.id}:1`);
  assert.ok(agent?.type === 'disposition');
  assert.ok((await cc.history(a.id)).some((e) => e.detail === `disposition DONE, by agent ${agent.agentId}: order changed`));
  const refused = (await cc.history(b.id)).find((e) => e.kind === 'DISPOSITION' && e.detail?.startsWith('disposition CALL_BACK_LATER'));
  assert.match(refused?.detail ?? '', /not recreated: GES_[A-Z_]+/, 'beyond the horizon: refused like any create');
  assert.equal((await cc.callbacksOf(far)).length, 1);
  assert.deepEqual(cc.recorded.sort(), ['CALL_BACK_LATER', 'DONE']);
});

test('without the dialog (the default) no disposition is asked for, and one arriving anyway is ignored', async (t) => {
  const phone = '+14155553006';
  const cc = await served(t, {}, { [phone]: { code: 'CALL_BACK_LATER', afterSec: 1 } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: phone });
  await cc.until(async () => (await cc.callbacks.retrieve(cc.who, id)).state === 'COMPLETED');
  await cc.step(5000);
  assert.ok(!cc.voice.sent.some((c) => c.type === 'disposition_request'));
  await cc.voice.emit({ type: 'disposition', dialKey: `${id}:1`, agentId: 'a', code: 'CALL_BACK_LATER', at: cc.clock.now() });
  assert.equal(await cc.dispositionOf(id), null);
  assert.equal((await cc.callbacksOf(phone)).length, 1);
  assert.ok(!(await cc.history(id)).some((e) => e.kind === 'DISPOSITION'));
});
