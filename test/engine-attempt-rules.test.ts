import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import type { EngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator, type ContactCenterSimulatorConfig } from '../src/voice/simulator/contact-center-simulator.ts';
import type { VoiceCommand, VoiceEvent, VoiceEventHandler, VoicePort } from '../src/voice/voice-port.ts';
import { createLogger } from '../src/logging/logger.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import * as store from '../src/store/callback-history.ts';
import type { Queryable } from '../src/store/db.ts';
import { RecordingPort } from './support/recording-voice-port.ts';

/**
 * Rules of an attempt that involve the clock and the platform together, on Postgres, the engine
 * and the simulated contact center: retry pauses under clock skew, what a `no_agent` answer
 * costs, who gives back an agent held for an attempt that failed, and what a cancel does.
 */

/** The simulator behind a port that records the commands and lets a test answer in the platform's place. */

interface Setup {
  first?: 'CUSTOMER' | 'AGENT';
  sim?: Partial<ContactCenterSimulatorConfig>;
  service?: Record<string, unknown>;
  /** How far this node's clock runs ahead of the database's (ms). */
  skewMs?: number;
  withheld?: VoiceCommand['type'][];
  agents?: number;
  watchdogCapSec?: number;
  sweepMs?: number;
  /** The engine's database: the pool by default, or what this makes of it (a test that fails statements). */
  engineDb?: (pool: Queryable) => Queryable;
}

async function contactCenter(t: TestContext, setup: Setup = {}) {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { firstConnectParty: setup.first ?? 'CUSTOMER', ...setup.service } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 7,
    clock,
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { [`${tenant.name}/sales`]: { agents: setup.agents ?? 1, handleTimeSec: { mean: 60, sd: 5 } } },
    ...setup.sim,
  });
  const voice = new RecordingPort(sim, setup.withheld);
  const skew = setup.skewMs ?? 0;
  // SQL runs on the database's clock (the simulated time); this node's own reading is `skew` ahead.
  const engineClock: EngineClock = {
    nowMs: () => clock.now() + skew,
    sqlNow: () => new Date(clock.now()),
    at(atMs, fn) {
      const task = clock.schedule(Math.max(atMs - skew, clock.now()), fn);
      return () => task.cancel();
    },
  };
  const engine = new CallbackEngine({
    db: setup.engineDb ? setup.engineDb(db.pool) : db.pool,
    hot: new MemoryHotState(),
    voice,
    clock: engineClock,
    logger: createLogger('silent'),
    pollMs: 1000,
    watchdogCapSec: setup.watchdogCapSec ?? 600,
    ...(setup.sweepMs ? { sweepMs: setup.sweepMs } : {}),
  });
  db.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  await voice.start();
  await engine.start();
  t.after(async () => {
    await engine.stop();
    await voice.stop();
  });
  const who = { id: tenant.id, name: tenant.name };
  return {
    db,
    clock,
    sim,
    voice,
    engine,
    callbacks,
    who,
    tenant,
    /** Moves simulated time on in small steps, letting the engine finish each one, until `done` or `maxMs`. */
    async run(maxMs: number, done: () => Promise<boolean> = async () => false, stepMs = 100) {
      for (let ms = 0; ms < maxMs; ms += stepMs) {
        clock.advanceBy(stepMs);
        await engine.idle();
        db.clock.__test__pretendNow(clock.now());
        if (await done()) return;
      }
    },
    history: (id: string) => store.listEvents(db.pool, tenant.id, id),
    state: async (id: string) => (await callbacks.retrieve(who, id)).state,
  };
}

test('a retry picked up a moment before the database clock reaches its time waits its own pause, not the 30 s claim lease', async (t) => {
  // This node's clock runs half a second ahead of the database: it claims the end of each pause
  // while Postgres still sees the pause running.
  const cc = await contactCenter(t, {
    skewMs: 500,
    sim: { customers: { answer: 0, busy: 1, noAnswer: 0, machine: 0, invalid: 0 } },
    service: { retry: { busy: { maxAttempts: 3, delaySec: 10 } } },
  });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552001' });
  await cc.run(120_000, async () => (await cc.state(id)) === 'COMPLETED');
  const history = await cc.history(id);
  const dials = history.filter((e) => e.kind === 'DIAL' && e.detail === 'dial');
  const busy = history.filter((e) => e.kind === 'DIAL' && e.detail === 'busy');
  assert.equal(dials.length, 3, 'three dials, as the policy says');
  for (const n of [1, 2]) {
    const pause = (dials[n]!.at.getTime() - busy[n - 1]!.at.getTime()) / 1000;
    assert.ok(pause >= 9 && pause <= 12, `the pause before attempt ${n + 1} lasted ${pause} s, configured 10 s`);
  }
});

/** Answers every reserve_agent sent so far with no_agent, as a platform with nobody free does; returns how many were answered in all. */
async function answerNoAgent(voice: RecordingPort, clock: SimClock, answeredBefore: number): Promise<number> {
  const reserves = voice.sent.filter((c) => c.type === 'reserve_agent');
  for (const c of reserves.slice(answeredBefore)) await voice.emit({ type: 'no_agent', dialKey: c.dialKey, at: clock.now() });
  return reserves.length;
}

test('a retry whose end meets a database error is looked at again a second later, not when its 30 s claim lease ends', async (t) => {
  // The statement that ends a retry pause fails once, as it would with the database restarting or
  // the backend terminated at that moment.
  let failures = 0;
  let armed = false;
  const engineDb = (pool: Queryable): Queryable => ({
    query: ((text: string, values?: unknown[]) => {
      if (armed && typeof text === 'string' && /AND phase = \d+ AND attempt = \$2 AND due_at <=/.test(text)) {
        armed = false;
        failures += 1;
        return Promise.reject(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
      }
      return pool.query(text, values);
    }) as Queryable['query'],
  });
  const cc = await contactCenter(t, {
    engineDb,
    sim: { customers: { answer: 0, busy: 1, noAnswer: 0, machine: 0, invalid: 0 } },
    service: { retry: { busy: { maxAttempts: 2, delaySec: 10 } } },
  });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552009' });
  await cc.run(60_000, async () => (await cc.history(id)).some((e) => e.detail === 'busy'));
  armed = true;
  await cc.run(120_000, async () => (await cc.state(id)) === 'COMPLETED');
  assert.equal(failures, 1, 'the end of the pause met the failure once');
  const history = await cc.history(id);
  const dials = history.filter((e) => e.kind === 'DIAL' && e.detail === 'dial');
  const busy = history.filter((e) => e.kind === 'DIAL' && e.detail === 'busy');
  assert.equal(dials.length, 2);
  const pause = (dials[1]!.at.getTime() - busy[0]!.at.getTime()) / 1000;
  assert.ok(pause >= 9 && pause <= 13, `the pause before attempt 2 lasted ${pause} s, configured 10 s`);
});

test('agent first: no_agent answers cost no attempt numbers; the same attempt asks again until an agent is held', async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT', withheld: ['reserve_agent'] });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552002' });
  let answered = 0;
  await cc.run(120_000, async () => (answered = await answerNoAgent(cc.voice, cc.clock, answered)) >= 10);
  assert.equal(answered, 10, 'ten reservations refused');
  const during = await cc.callbacks.retrieve(cc.who, id);
  assert.equal(during.attempt, 1, 'still the first attempt');
  // An agent is free now: the next ask reaches the platform, which holds one.
  cc.voice.withheld.delete('reserve_agent');
  await cc.run(600_000, async () => (await cc.state(id)) === 'COMPLETED', 1000);
  const record = await cc.callbacks.retrieve(cc.who, id);
  assert.equal(record.reason, 'AGENT_CONNECTED');
  assert.equal(record.attempt, 1, 'ten no_agent answers and one reservation: one attempt');
  const reserves = cc.voice.sent.filter((c) => c.type === 'reserve_agent');
  assert.ok(reserves.length >= 11);
  assert.ok(
    reserves.every((c) => c.dialKey === `${id}:1`),
    "every ask under the first attempt's key",
  );
  assert.equal(cc.sim.dialsPlaced(), 1);
  const history = await cc.history(id);
  assert.ok(!history.some((e) => e.detail === 'no agent'), 'never sent back to its queue');
});

test('agent first: a reservation refused past the time to live completes FAIL_TIMEOUT_TTL, still at its first attempt', async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT', withheld: ['reserve_agent'], service: { ttlSec: 60 } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552003' });
  let answered = 0;
  await cc.run(
    300_000,
    async () => {
      answered = await answerNoAgent(cc.voice, cc.clock, answered);
      return (await cc.state(id)) === 'COMPLETED';
    },
    500,
  );
  const record = await cc.callbacks.retrieve(cc.who, id);
  assert.equal(record.state, 'COMPLETED');
  assert.equal(record.reason, 'FAIL_TIMEOUT_TTL');
  assert.equal(record.attempt, 1);
  assert.ok(answered >= 15 && answered <= 25, `asked about every 3 s for a minute (${answered} asks)`);
  assert.equal(cc.sim.dialsPlaced(), 0);
});

/** release_agent commands sent for a dial key. */
function releases(voice: RecordingPort, dialKey: string): VoiceCommand[] {
  return voice.sent.filter((c) => c.type === 'release_agent' && c.dialKey === dialKey);
}

/** The agent the platform said it held for a dial key. */
function reservedAgent(voice: RecordingPort, dialKey: string): string {
  const e = voice.heard.find((x) => x.type === 'agent_reserved' && x.dialKey === dialKey);
  assert.ok(e && e.type === 'agent_reserved', `an agent was reserved for ${dialKey}`);
  return e.agentId;
}

test('agent first: a dial that fails gives back the agent reserved for it (release_agent)', async (t) => {
  const cc = await contactCenter(t, {
    first: 'AGENT',
    sim: { customers: { answer: 0, busy: 1, noAnswer: 0, machine: 0, invalid: 0 } },
    service: { retry: { busy: { maxAttempts: 2, delaySec: 10 } } },
  });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552004' });
  await cc.run(120_000, async () => (await cc.state(id)) === 'COMPLETED');
  assert.equal((await cc.callbacks.retrieve(cc.who, id)).reason, 'FAIL_CALL_TO_CUSTOMER');
  for (const n of [1, 2]) {
    const key = `${id}:${n}`;
    assert.deepEqual(
      releases(cc.voice, key),
      [{ type: 'release_agent', dialKey: key, agentId: reservedAgent(cc.voice, key) }],
      `attempt ${n}: its agent given back once`,
    );
    const busyAt = cc.voice.heard.findIndex((e) => e.type === 'busy' && 'dialKey' in e && e.dialKey === key);
    assert.ok(busyAt >= 0, `attempt ${n} was busy`);
  }
});

test('agent first: a callback served gives back no agent; the agent was connected', async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT' });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552005' });
  await cc.run(600_000, async () => (await cc.state(id)) === 'COMPLETED', 1000);
  assert.equal((await cc.callbacks.retrieve(cc.who, id)).reason, 'AGENT_CONNECTED');
  assert.ok(!cc.voice.sent.some((c) => c.type === 'release_agent'));
});

test('customer first: a customer who hangs up while being connected frees the agent reserved for them', async (t) => {
  // The connect never reaches the platform; the customer hangs up (call_ended, no talk) meanwhile.
  const cc = await contactCenter(t, { withheld: ['connect'], service: { retry: { failed: { maxAttempts: 1, delaySec: 60 } } } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552006' });
  const key = `${id}:1`;
  await cc.run(60_000, async () => cc.voice.sent.some((c) => c.type === 'connect'));
  const agentId = reservedAgent(cc.voice, key);
  await cc.voice.emit({ type: 'call_ended', dialKey: key, talkSeconds: 0, at: cc.clock.now() });
  await cc.engine.idle();
  const record = await cc.callbacks.retrieve(cc.who, id);
  assert.equal(record.reason, 'FAIL_AGENT_CONNECT');
  assert.deepEqual(releases(cc.voice, key), [{ type: 'release_agent', dialKey: key, agentId }]);
});

test("agent first: a cancel while the reserved agent's dial rings sends cancel and gives back the agent; the platform says nothing more", async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT', withheld: ['dial'] });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552007' });
  const key = `${id}:1`;
  await cc.run(60_000, async () => cc.voice.sent.some((c) => c.type === 'dial'));
  const agentId = reservedAgent(cc.voice, key);
  await cc.callbacks.cancel(cc.who, id);
  await cc.engine.idle();
  assert.deepEqual(cc.voice.sent.slice(-2), [
    { type: 'cancel', dialKey: key },
    { type: 'release_agent', dialKey: key, agentId },
  ]);
  // No event answers a cancel; the engine neither waits for one nor acts again on the attempt.
  const sentBefore = cc.voice.sent.length;
  await cc.run(30_000);
  assert.equal(cc.voice.sent.length, sentBefore, 'nothing more sent for the cancelled callback');
  assert.equal((await cc.callbacks.retrieve(cc.who, id)).state, 'COMPLETED');
});

test('a watchdog that gives an attempt up gives back the agent held for it', async (t) => {
  // The dial never reaches the platform: no event comes, the watchdog re-sends it, then gives up.
  const cc = await contactCenter(t, {
    first: 'AGENT',
    withheld: ['dial'],
    watchdogCapSec: 10,
    service: { retry: { failed: { maxAttempts: 1, delaySec: 60 } } },
  });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552008' });
  const key = `${id}:1`;
  await cc.run(300_000, async () => (await cc.state(id)) === 'COMPLETED', 500);
  assert.equal((await cc.callbacks.retrieve(cc.who, id)).reason, 'FAIL_ERROR');
  assert.equal(cc.voice.sent.filter((c) => c.type === 'dial').length, 4, 'the first dial and three repeats');
  assert.deepEqual(releases(cc.voice, key), [{ type: 'release_agent', dialKey: key, agentId: reservedAgent(cc.voice, key) }]);
});

test('late events for a finished attempt change nothing; a late agent_reserved of a failed attempt is answered with release_agent', async (t) => {
  const cc = await contactCenter(t, {
    sim: { customers: { answer: 0, busy: 1, noAnswer: 0, machine: 0, invalid: 0 } },
    service: { retry: { busy: { maxAttempts: 1, delaySec: 60 } } },
  });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552009' });
  await cc.run(600_000, async () => (await cc.state(id)) === 'COMPLETED', 1000);
  assert.equal((await cc.callbacks.retrieve(cc.who, id)).reason, 'FAIL_CALL_TO_CUSTOMER');
  const key = `${id}:1`;
  const history = await cc.history(id);
  const sentBefore = cc.voice.sent.length;
  const at = cc.clock.now();
  for (const event of [
    { type: 'answered', dialKey: key, at },
    { type: 'busy', dialKey: key, at },
    { type: 'no_agent', dialKey: key, at },
    { type: 'connected', dialKey: key, agentId: 'late', at },
    { type: 'call_ended', dialKey: key, talkSeconds: 0, at },
    { type: 'answered', dialKey: `${id}:2`, at },
  ] as VoiceEvent[])
    await cc.voice.emit(event);
  await cc.engine.idle();
  assert.deepEqual(await cc.history(id), history, 'history unchanged');
  assert.equal(cc.voice.sent.length, sentBefore, 'nothing sent');
  await cc.voice.emit({ type: 'agent_reserved', dialKey: key, agentId: 'agent-late', at });
  await cc.engine.idle();
  assert.deepEqual(cc.voice.sent.slice(sentBefore), [{ type: 'release_agent', dialKey: key, agentId: 'agent-late' }]);
  assert.deepEqual(await cc.history(id), history);
});

test('an agent reserved on one node is given back by the node that heard the attempt fail (its id is in Postgres), once', async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT', withheld: ['dial'], sweepMs: 2000, service: { retry: { busy: { maxAttempts: 1, delaySec: 60 } } } });
  // A second node on the same database, hearing what the platform tells it (here: a busy line).
  const heardOnB = new Set<VoiceEventHandler>();
  const sentByB: VoiceCommand[] = [];
  const portB: VoicePort = {
    send: async (c) => void sentByB.push(c),
    onEvent: (h) => (heardOnB.add(h), () => heardOnB.delete(h)),
    availableAgents: () => 0,
    start: async () => undefined,
    stop: async () => undefined,
  };
  const clockB: EngineClock = {
    nowMs: () => cc.clock.now(),
    sqlNow: () => new Date(cc.clock.now()),
    at: (atMs, fn) => {
      const task = cc.clock.schedule(atMs, fn);
      return () => task.cancel();
    },
  };
  const nodeB = new CallbackEngine({ db: cc.db.pool, hot: new MemoryHotState(), voice: portB, clock: clockB, logger: createLogger('silent'), pollMs: 1000 });
  await nodeB.start();
  t.after(() => nodeB.stop());
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552010' });
  const key = `${id}:1`;
  await cc.run(60_000, async () => cc.voice.sent.some((c) => c.type === 'dial'));
  const agentId = reservedAgent(cc.voice, key);
  for (const h of heardOnB) await h({ type: 'busy', dialKey: key, at: cc.clock.now() });
  await nodeB.idle();
  assert.equal((await cc.callbacks.retrieve(cc.who, id)).reason, 'FAIL_CALL_TO_CUSTOMER', 'node B ended the attempt');
  assert.deepEqual(
    sentByB.filter((c) => c.type === 'release_agent'),
    [{ type: 'release_agent', dialKey: key, agentId }],
    'node B released the agent node A heard reserved',
  );
  await cc.run(10_000, async () => false); // several sweeps of both nodes
  await nodeB.idle();
  assert.deepEqual(releases(cc.voice, key), [], 'node A, and its sweep, do not release it again');
  assert.equal(sentByB.filter((c) => c.type === 'release_agent').length, 1);
});

test('a late repeat of the agent_reserved of an attempt that connected its agent gives nothing back', async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT' });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155552011' });
  await cc.run(600_000, async () => (await cc.state(id)) === 'COMPLETED', 1000);
  assert.equal((await cc.callbacks.retrieve(cc.who, id)).reason, 'AGENT_CONNECTED');
  const key = `${id}:1`;
  const sentBefore = cc.voice.sent.length;
  await cc.voice.emit({ type: 'agent_reserved', dialKey: key, agentId: reservedAgent(cc.voice, key), at: cc.clock.now() });
  await cc.engine.idle();
  assert.equal(cc.voice.sent.length, sentBefore, "the agent was the call's: not released");
});
