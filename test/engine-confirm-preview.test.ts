import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { startSimulatedEngine } from './support/simulated-engine.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator, type ContactCenterSimulatorConfig } from '../src/voice/simulator/contact-center-simulator.ts';
import type { VoiceCommand, VoiceEvent } from '../src/voice/voice-port.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import { engineRows } from '../src/store/engine-row.ts';
import * as history from '../src/store/callback-history.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { createLogger } from '../src/logging/logger.ts';
import { RecordingPort } from './support/recording-voice-port.ts';

/**
 * Customer confirmation and agent preview carried out by the engine on Postgres and the simulated
 * contact center: each branch of docs/ENGINE.md "Customer confirmation" and "Agent preview", with
 * the commands GES sent and the events the platform answered as the evidence.
 */

/** The simulator, with every command sent and every event heard kept. */

interface Setup {
  first?: 'CUSTOMER' | 'AGENT';
  service?: Record<string, unknown>;
  sim?: Partial<ContactCenterSimulatorConfig>;
  agents?: number;
}

async function contactCenter(t: TestContext, setup: Setup = {}) {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { firstConnectParty: setup.first ?? 'CUSTOMER', ...setup.service } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 11,
    clock,
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { [`${tenant.name}/sales`]: { agents: setup.agents ?? 1, handleTimeSec: { mean: 60, sd: 5 } } },
    ...setup.sim,
  });
  const voice = new RecordingPort(sim);
  const { engine, callbacks } = await startSimulatedEngine(t, db, voice, clock);
  const who = { id: tenant.id, name: tenant.name };
  const agent = (n: number) => `${tenant.name}/sales/agent-${n}`;
  return {
    db,
    clock,
    sim,
    voice,
    callbacks,
    who,
    agent,
    async run(maxMs: number, done: () => Promise<boolean>, stepMs = 250) {
      for (let ms = 0; ms < maxMs; ms += stepMs) {
        clock.advanceBy(stepMs);
        await engine.idle();
        db.clock.__test__pretendNow(clock.now());
        if (await done()) return;
      }
    },
    async untilCompleted(id: string, maxMs = 600_000) {
      await this.run(maxMs, async () => (await callbacks.retrieve(who, id)).state === 'COMPLETED');
      return callbacks.retrieve(who, id);
    },
    details: async (id: string) => (await history.listEvents(db.pool, tenant.id, id)).map((e) => e.detail),
    sentOf: <T extends VoiceCommand['type']>(type: T) => voice.sent.filter((c): c is Extract<VoiceCommand, { type: T }> => c.type === type),
    heardOf: <T extends VoiceEvent['type']>(type: T) => voice.heard.filter((e): e is Extract<VoiceEvent, { type: T }> => e.type === type),
  };
}

const CONFIRM = { userConfirm: true, userConfirmTimeoutSec: 10, confirmPrompt: 'press-one-please' };

test('confirmation: the customer presses 1, then an agent is reserved and connected', async (t) => {
  const cc = await contactCenter(t, { service: { ...CONFIRM, onUserConfirmTimeout: 'END' }, sim: { perNumberConfirm: () => 'confirm' } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553001' });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'AGENT_CONNECTED');
  assert.deepEqual(cc.sentOf('confirm_customer'), [{ type: 'confirm_customer', dialKey: `${id}:1`, prompt: 'press-one-please', timeoutSec: 10 }]);
  const types = cc.voice.sent.map((c) => c.type);
  assert.ok(types.indexOf('confirm_customer') < types.indexOf('reserve_agent'), 'no agent is asked for before the customer confirmed');
  assert.ok((await cc.details(id)).includes('customer confirmed'));
});

test('confirmation declined, onUserConfirmTimeout END: the call is hung up and the callback completes FAIL_USER_NO_CONFIRM, no agent used', async (t) => {
  const cc = await contactCenter(t, { service: { ...CONFIRM, onUserConfirmTimeout: 'END' }, sim: { perNumberConfirm: () => 'decline' } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553002' });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'FAIL_USER_NO_CONFIRM');
  assert.equal(record.attempt, 1, 'not retried');
  assert.deepEqual(
    cc.heardOf('customer_not_confirmed').map((e) => e.why),
    ['declined'],
  );
  assert.deepEqual(cc.sentOf('cancel'), [{ type: 'cancel', dialKey: `${id}:1` }]);
  assert.equal(cc.sentOf('reserve_agent').length, 0);
  assert.equal(cc.heardOf('connected').length, 0);
  assert.equal(cc.sim.dialsPlaced(), 1);
  assert.ok((await cc.details(id)).includes('not confirmed (declined)'));
});

test('confirmation timed out, onUserConfirmTimeout CONNECT: the customer is connected anyway after the timeout', async (t) => {
  const cc = await contactCenter(t, { service: { ...CONFIRM, onUserConfirmTimeout: 'CONNECT' }, sim: { perNumberConfirm: () => 'timeout' } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553003' });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'AGENT_CONNECTED');
  const answered = cc.heardOf('answered')[0]!;
  const notConfirmed = cc.heardOf('customer_not_confirmed')[0]!;
  assert.equal(notConfirmed.why, 'timeout');
  assert.ok(notConfirmed.at - answered.at >= 10_000, 'the platform waited the configured 10 s');
  assert.ok(cc.heardOf('connected').length === 1);
  assert.ok((await cc.details(id)).includes('not confirmed (timeout): connecting anyway'));
});

const PREVIEW = { agentPreview: true, agentPreviewTimeoutSec: 8, agentRejectRetryTimeoutSec: 2 };

test('preview accepted (agent first): the agent previews, accepts, then the customer is dialed and connected to that agent', async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT', service: PREVIEW, sim: { perAgentPreview: () => 'accept' } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553004' });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'AGENT_CONNECTED');
  const [preview] = cc.sentOf('preview');
  assert.deepEqual(preview, {
    type: 'preview',
    dialKey: `${id}:1`,
    agentId: cc.agent(1),
    timeoutSec: 8,
    allowReject: true,
    timeoutSetsNotReady: false,
  });
  const types = cc.voice.sent.map((c) => c.type);
  assert.ok(types.indexOf('preview') < types.indexOf('dial'), 'nobody is dialed before the agent accepted');
  assert.equal(cc.heardOf('connected')[0]!.agentId, cc.agent(1));
  assert.equal(cc.sentOf('release_agent').length, 0);
});

test('preview rejected: that agent is given back and never offered this callback again, in this attempt or the next', async (t) => {
  // The first call is busy, so a second attempt asks for agents again.
  let dials = 0;
  const cc = await contactCenter(t, {
    first: 'AGENT',
    agents: 2,
    service: { ...PREVIEW, retry: { busy: { maxAttempts: 3, delaySec: 5 } } },
    sim: {
      perAgentPreview: (agentId) => (agentId.endsWith('/agent-1') ? 'reject' : 'accept'),
      perNumber: () => (dials++ === 0 ? { busy: 1 } : undefined),
    },
  });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553005' });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'AGENT_CONNECTED');
  assert.equal(record.attempt, 2);
  const reserved = cc.heardOf('agent_reserved').map((e) => `${e.dialKey.split(':')[1]} ${e.agentId}`);
  assert.deepEqual(reserved, [`1 ${cc.agent(1)}`, `1 ${cc.agent(2)}`, `2 ${cc.agent(2)}`], 'agent-1 held once, never after its reject');
  assert.deepEqual(
    cc.sentOf('release_agent').filter((c) => c.agentId === cc.agent(1)),
    [{ type: 'release_agent', dialKey: `${id}:1`, agentId: cc.agent(1) }],
  );
  const reserves = cc.sentOf('reserve_agent');
  assert.equal(reserves[0]!.excludeAgents, undefined);
  assert.ok(reserves.slice(1).length >= 2);
  for (const r of reserves.slice(1)) assert.deepEqual(r.excludeAgents, [cc.agent(1)], `${r.dialKey} excludes the agent who rejected`);
  // The exclusion lives in Postgres, so any node (or a restarted one) asks the same.
  const [row] = await engineRows(cc.db.pool, [id]);
  assert.deepEqual(row!.previewRejects, [cc.agent(1)]);
  const rejectAt = cc.heardOf('preview_rejected')[0]!.at;
  const nextReserve = cc.heardOf('agent_reserved')[1]!.at;
  assert.ok(nextReserve - rejectAt >= 2000, 'the next agent is asked for after agentRejectRetryTimeoutSec');
  assert.equal(cc.sim.agentsHeld(), 0);
  assert.equal(cc.sim.holdsExpired(), 0);
});

test('n rejects: after maxPreviewRejects agents rejected, the callback completes AGENT_PREVIEW_CANCEL_AFTER_<n>REJECTS and nobody is dialed', async (t) => {
  const cc = await contactCenter(t, { first: 'AGENT', agents: 3, service: { ...PREVIEW, maxPreviewRejects: 2 }, sim: { perAgentPreview: () => 'reject' } });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553006' });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'AGENT_PREVIEW_CANCEL_AFTER_2REJECTS');
  assert.equal(cc.sim.dialsPlaced(), 0);
  assert.deepEqual(
    cc.heardOf('agent_reserved').map((e) => e.agentId),
    [cc.agent(1), cc.agent(2)],
  );
  const [row] = await engineRows(cc.db.pool, [id]);
  assert.deepEqual(row!.previewRejects, [cc.agent(1), cc.agent(2)]);
  await cc.run(1000, async () => false); // the platform carries out the last commands (cancel, release_agent)
  assert.equal(cc.sim.agentsHeld(), 0, 'every rejecting agent given back');
  assert.equal(cc.sim.holdsExpired(), 0);
});

test('customer first, preview timeout with previewTimeoutSetsNotReady: the agent is set not ready, the customer goes to another agent', async (t) => {
  const cc = await contactCenter(t, {
    agents: 2,
    service: { ...PREVIEW, previewTimeoutSetsNotReady: true },
    sim: { perAgentPreview: (agentId) => (agentId.endsWith('/agent-1') ? 'timeout' : 'accept'), notReadyAfterPreviewSec: 3600 },
  });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553007' });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'AGENT_CONNECTED');
  const rejected = cc.heardOf('preview_rejected');
  assert.deepEqual(
    rejected.map((e) => [e.agentId, e.why]),
    [[cc.agent(1), 'timeout']],
  );
  assert.ok(rejected[0]!.at - cc.heardOf('agent_reserved')[0]!.at >= 8000, 'the preview lasted its 8 s');
  const notReady = cc.voice.heard.filter((e) => e.type === 'agent_not_ready' && e.agentId === cc.agent(1) && e.at >= rejected[0]!.at);
  assert.equal(notReady.length, 1, 'the platform said agent-1 is not ready');
  assert.equal(cc.sim.agentState(cc.agent(1)), 'not_ready');
  assert.equal(cc.heardOf('connected')[0]!.agentId, cc.agent(2));
  assert.ok((await cc.details(id)).includes('preview timeout'));
});

test('the node that heard a reject stops; another node asks for the next agent, still excluding the agent who rejected (the list is in Postgres)', async (t) => {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { firstConnectParty: 'AGENT', ...PREVIEW, agentRejectRetryTimeoutSec: 30 } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const agent = (n: number) => `${tenant.name}/sales/agent-${n}`;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 5,
    clock,
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { [`${tenant.name}/sales`]: { agents: 2, handleTimeSec: { mean: 60, sd: 5 } } },
    perAgentPreview: (agentId) => (agentId === agent(1) ? 'reject' : 'accept'),
  });
  const hot = new MemoryHotState(); // shared by the nodes, as Redis is in production
  const node = (voice: RecordingPort) =>
    new CallbackEngine({ db: db.pool, hot, voice, clock: simulatedEngineClock(clock), logger: createLogger('silent'), pollMs: 1000, watchdogCapSec: 600 });
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
  const { id } = await callbacks.create(who, { serviceName: 'sales', phoneNumber: '+14155553008' });
  const step = async (engine: CallbackEngine, ms: number) => {
    clock.advanceBy(ms);
    await engine.idle();
    db.clock.__test__pretendNow(clock.now());
  };
  // Node A applies agent-1's reject, gives it back, and is gone before its 30 s pause ends.
  for (let s = 0; s < 200 && !portA.heard.some((e) => e.type === 'preview_rejected'); s++) await step(a, 100);
  await step(a, 100);
  assert.deepEqual(
    portA.sent.filter((c) => c.type === 'release_agent').map((c) => (c as { agentId: string }).agentId),
    [agent(1)],
  );
  await a.stop();
  b = node(portB);
  await b.start();
  for (let s = 0; s < 900 && (await callbacks.retrieve(who, id)).state !== 'COMPLETED'; s++) await step(b, 1000);
  assert.equal((await callbacks.retrieve(who, id)).reason, 'AGENT_CONNECTED');
  const reservesB = portB.sent.filter((c): c is Extract<VoiceCommand, { type: 'reserve_agent' }> => c.type === 'reserve_agent');
  assert.ok(reservesB.length >= 1, 'node B asked for an agent (its watchdog of the attempt A left)');
  for (const r of reservesB) assert.deepEqual(r.excludeAgents, [agent(1)]);
  const reserved = [...portA.heard, ...portB.heard].filter((e) => e.type === 'agent_reserved').map((e) => (e as { agentId: string }).agentId);
  assert.deepEqual([...new Set(reserved)], [agent(1), agent(2)]);
  assert.equal(reserved.filter((x) => x === agent(1)).length, 1, 'agent-1 was held for this callback once');
  assert.equal(portB.heard.find((e) => e.type === 'connected' && e.dialKey === `${id}:1`)?.type, 'connected');
});
