import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedEngine } from './support/simulated-engine.ts';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { createLogger } from '../src/logging/logger.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import { parseServiceOptions } from '../src/domain/service-options.ts';
import { advanceAttempt, pauseForRetry, startAttempt } from '../src/store/engine-transition-store.ts';
import { takeForgottenAgents, takeHeldAgent } from '../src/store/held-agent-store.ts';
import { RecordingPort } from './support/recording-voice-port.ts';

/**
 * The engine keeps its side of "Holding agents" (docs/VOICE-CONTRACT.md): every agent it reserved
 * for an attempt that ends without that agent being connected is released. The simulator holds
 * such an agent until release_agent, cancel or its safety-net expiry, and counts the expiries, so
 * an engine that forgets a release shows up here as an agent held or a hold expired, and, with one
 * agent in the queue, as later attempts finding no agent.
 *
 * The busy-customer test needs the engine to send release_agent (issue 12, D1); before that
 * change it fails on `holdsExpired`/`agentsHeld`, which is what it exists to catch.
 */

const ALWAYS = (outcome: 'busy' | 'noAnswer') => ({ answer: 0, busy: 0, noAnswer: 0, machine: 0, invalid: 0, [outcome]: 1 });

async function agentFirst(t: TestContext, customers: ReturnType<typeof ALWAYS>, service: Record<string, unknown> = {}) {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { firstConnectParty: 'AGENT', ...service } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  // One agent: an agent leaked by one attempt would leave the next with nobody to reserve.
  const sim = new ContactCenterSimulator({
    seed: 5,
    clock,
    customers,
    queues: { [`${tenant.name}/sales`]: { agents: 1, handleTimeSec: { mean: 60, sd: 5 } } },
  });
  const voice = new RecordingPort(sim);
  const { engine, callbacks } = await startSimulatedEngine(t, db, voice, clock);
  const who = { id: tenant.id, name: tenant.name };
  const { id } = await callbacks.create(who, { serviceName: 'sales', phoneNumber: '+14155552001' });
  const step = async (ms: number) => {
    clock.advanceBy(ms);
    await engine.idle();
    db.clock.__test__pretendNow(clock.now());
  };
  return { sim, voice, callbacks, step, retrieve: () => callbacks.retrieve(who, id), cancel: () => callbacks.cancel(who, id) };
}

test('agent first, every customer busy: each attempt releases its agent, none is left held or freed by the safety net [needs the engine release_agent change]', async (t) => {
  const { sim, voice, step, retrieve } = await agentFirst(t, ALWAYS('busy'), { retry: { busy: { maxAttempts: 3, delaySec: 60 } } });
  for (let s = 0; s < 3600 && (await retrieve()).state !== 'COMPLETED'; s += 5) await step(5000);
  // The last attempt's release_agent is sent as the callback completes and, like every command, is
  // carried out on the simulator's clock, never inside send: one more step lets it land.
  await step(0);
  const record = await retrieve();
  assert.equal(record.state, 'COMPLETED');
  assert.equal(record.reason, 'FAIL_CALL_TO_CUSTOMER');
  assert.equal(sim.dialsPlaced(), 3, 'three attempts, each found the agent free');
  const releases = voice.sent.filter((c) => c.type === 'release_agent');
  assert.equal(new Set(releases.map((c) => c.dialKey)).size, 3, 'one release_agent for each failed attempt');
  assert.equal(sim.agentsHeld(), 0, 'no agent left held');
  assert.equal(sim.holdsExpired(), 0, 'no agent freed by the safety net: GES released every one');
});

test('agent first, the callback cancelled while its call rings: the agent held for it is free again at once', async (t) => {
  const { sim, step, retrieve, cancel } = await agentFirst(t, ALWAYS('noAnswer'));
  for (let s = 0; s < 60 && sim.snapshot().activeCalls === 0; s += 1) await step(1000);
  assert.equal(sim.snapshot().activeCalls, 1, 'the call rings');
  assert.equal(sim.agentsHeld(), 1);
  await cancel();
  await step(0);
  assert.equal(sim.agentsHeld(), 0, 'cancel frees the agent held for the attempt');
  assert.equal(sim.snapshot().activeCalls, 0);
  assert.equal((await retrieve()).state, 'COMPLETED');
  await step(60_000);
  assert.equal(sim.holdsExpired(), 0);
  assert.equal(sim.dialsPlaced(), 1);
});

test('the node that heard agent_reserved stops; another node ends the attempt and releases that very agent (its id is in Postgres)', async (t) => {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, {
    sales: { firstConnectParty: 'AGENT', retry: { ...parseServiceOptions({}).retry, busy: { maxAttempts: 1, delaySec: 60 } } },
  });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 7,
    clock,
    customers: ALWAYS('busy'),
    queues: { [`${tenant.name}/sales`]: { agents: 1, handleTimeSec: { mean: 60, sd: 5 } } },
  });
  const hot = new MemoryHotState(); // the shared hot state (Redis in production)
  const node = (voice: RecordingPort) =>
    new CallbackEngine({
      db: db.pool,
      hot,
      voice,
      clock: simulatedEngineClock(clock),
      logger: createLogger('silent'),
      pollMs: 1000,
      watchdogCapSec: 600,
    });
  const portA = new RecordingPort(sim);
  const portB = new RecordingPort(sim);
  const a = node(portA);
  db.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(a, (err) => {
    throw err;
  });
  await portA.start();
  await a.start();
  // eslint-disable-next-line prefer-const -- the cleanup below is registered before node B exists
  let b: CallbackEngine | undefined;
  t.after(async () => {
    await b?.stop();
    await portA.stop();
  });
  const who = { id: tenant.id, name: tenant.name };
  const { id } = await callbacks.create(who, { serviceName: 'sales', phoneNumber: '+14155552002' });
  const step = async (engine: CallbackEngine, ms: number) => {
    clock.advanceBy(ms);
    await engine.idle();
    db.clock.__test__pretendNow(clock.now());
  };
  // Node A applies agent_reserved and dials; then it is gone before the customer's line answers busy.
  for (let s = 0; s < 50 && !portA.sent.some((c) => c.type === 'dial'); s++) await step(a, 100);
  const dial = portA.sent.find((c) => c.type === 'dial');
  assert.ok(dial && dial.type === 'dial' && dial.agentId, 'node A dialed with the agent it was given');
  await a.stop();
  b = node(portB);
  await b.start();
  for (let s = 0; s < 600 && (await callbacks.retrieve(who, id)).state !== 'COMPLETED'; s++) await step(b, 1000);
  assert.equal((await callbacks.retrieve(who, id)).reason, 'FAIL_CALL_TO_CUSTOMER', 'node B heard busy and ended the callback');
  const releases = portB.sent.filter((c) => c.type === 'release_agent');
  assert.deepEqual(
    releases,
    [{ type: 'release_agent', dialKey: dial.dialKey, agentId: dial.agentId }],
    'node B released the agent node A heard reserved, once',
  );
  assert.equal(portA.sent.filter((c) => c.type === 'release_agent').length, 0);
  await step(b, 1000); // the simulator's command latency
  assert.equal(sim.agentsHeld(), 0);
  await step(b, 60_000);
  assert.equal(sim.holdsExpired(), 0, 'released by GES, not by the safety net');
  assert.equal(portB.sent.filter((c) => c.type === 'release_agent').length, 1, 'the sweep does not release it again');
});

test('an agent held for an attempt that is over is taken out of Postgres once, however many nodes try', async (t) => {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { firstConnectParty: 'AGENT' } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  db.clock.__test__pretendNow(Date.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  const { id } = await callbacks.create({ id: tenant.id, name: tenant.name }, { serviceName: 'sales', phoneNumber: '+14155552003' });
  const started = await startAttempt(db.pool, id, 'AGENT', 60, 86400, null);
  assert.ok(started);
  const reserved = await advanceAttempt(
    db.pool,
    {
      id,
      attempt: 1,
      from: ['RESERVING'],
      to: 'DIALING',
      state: 'ROUTING',
      watchdogSec: 60,
      kind: 'STATE',
      detail: 'agent reserved',
      agent: { holds: 'agent-7' },
    },
    null,
  );
  assert.ok(reserved);
  assert.equal(await takeHeldAgent(db.pool, id, 1), undefined, 'not while the attempt is in flight');
  assert.deepEqual(await takeForgottenAgents(db.pool), [], 'nor by the sweep');
  assert.ok(await pauseForRetry(db.pool, id, 1, ['DIALING'], new Date(Date.now() + 60_000), 'busy', null));
  const takes = await Promise.all([takeHeldAgent(db.pool, id, 1), takeHeldAgent(db.pool, id, 1), takeForgottenAgents(db.pool)]);
  const got = [takes[0], takes[1], ...takes[2]].filter((h) => h !== undefined);
  assert.deepEqual(got, [{ id, attempt: 1, agentId: 'agent-7' }], 'exactly one taker gets the agent');
  assert.equal(await takeHeldAgent(db.pool, id, 1), undefined);
});
