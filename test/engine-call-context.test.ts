import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { startSimulatedEngine } from './support/simulated-engine.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator, type ContactCenterSimulatorConfig } from '../src/voice/simulator/contact-center-simulator.ts';
import type { CustomerOutcomes } from '../src/voice/simulator/customer-outcomes.ts';
import type { CallContext } from '../src/voice/voice-port.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import { listEvents } from '../src/store/callback-history.ts';
import { CALL_CONTEXT_LIMITS } from '../src/domain/call-context.ts';
import type { ServiceOptions } from '../src/domain/service-options.ts';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logging/logger.ts';
import { RecordingPort } from './support/recording-voice-port.ts';

/**
 * The engine on Postgres and the simulated contact center: what a call carries (its context, from
 * the callback and its service), what reaches the agent, and what each machine option and each
 * dial outcome makes of a callback (docs/ENGINE.md, "Context on the call", "Call progress and machines").
 */

/** The simulator behind a port that records the commands the engine sent and the events it heard. */

const ONLY = (outcome: keyof CustomerOutcomes): CustomerOutcomes => ({ answer: 0, busy: 0, noAnswer: 0, machine: 0, invalid: 0, [outcome]: 1 });

/** Every line the engine logs, at its most talkative level. */
function captureLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger('trace', stream), lines };
}

async function contactCenter(t: TestContext, service: Partial<ServiceOptions>, sim: Partial<ContactCenterSimulatorConfig> = {}) {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { executionBufferSec: 0, ...service } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const simulator = new ContactCenterSimulator({
    seed: 11,
    clock,
    customers: ONLY('answer'),
    queues: { [`${tenant.name}/sales`]: { agents: 1, handleTimeSec: { mean: 60, sd: 5 } } },
    ...sim,
  });
  const voice = new RecordingPort(simulator);
  const outcomes: string[] = [];
  const log = captureLog();
  const { engine, callbacks } = await startSimulatedEngine(t, db, voice, clock, {
    observer: { dialOutcome: (e) => void outcomes.push(e.outcome) },
    logger: log.logger,
  });
  const who = { id: tenant.id, name: tenant.name };
  return {
    clock,
    sim: simulator,
    voice,
    callbacks,
    who,
    outcomes,
    logLines: log.lines,
    history: (id: string) => listEvents(db.pool, tenant.id, id),
    /** Lets the platform carry out what was sent last (its commands take effect after a latency). */
    async settle() {
      clock.advanceBy(1000);
      await engine.idle();
    },
    async untilCompleted(id: string, maxMs = 1_800_000) {
      for (let ms = 0; ms < maxMs; ms += 500) {
        clock.advanceBy(500);
        await engine.idle();
        db.clock.__test__pretendNow(clock.now());
        const record = await callbacks.retrieve(who, id);
        if (record.state === 'COMPLETED') return record;
      }
      assert.fail(`callback ${id} did not complete within ${maxMs} ms`);
    },
  };
}

/** The contexts of the commands that must carry one, for a callback. */
function contexts(voice: RecordingPort, id: string): { type: string; context: CallContext | undefined }[] {
  return voice.sent
    .filter((c) => (c.type === 'dial' || c.type === 'reserve_agent' || c.type === 'connect') && c.dialKey.startsWith(`${id}:`))
    .map((c) => ({ type: c.type, context: 'context' in c ? c.context : undefined }));
}

test('an orderId given at create reaches the agent on connect; every dial, reserve_agent and connect carries the same context', async (t) => {
  const cc = await contactCenter(t, {
    routePoint: '7000@SIP_Switch',
    callerIdNumber: '+18005550199',
    callerIdName: 'Acme Support',
    dialPrefix: '9',
    trunkGroup: 'tg-outbound-1',
    previewKeys: 'orderId,reason',
  });
  const { id } = await cc.callbacks.create(cc.who, {
    serviceName: 'sales',
    phoneNumber: '+14155553001',
    language: 'fr-FR',
    routePoint: '7100@SIP_Switch',
    priority: 3,
    userData: { orderId: 'A-1', reason: 'late delivery', basket: { items: 2 } },
  });
  const record = await cc.untilCompleted(id);
  assert.equal(record.reason, 'AGENT_CONNECTED');
  const expected: Omit<CallContext, 'attachedData'> = {
    routePoint: '7100@SIP_Switch',
    language: 'fr-FR',
    priority: 3,
    callerId: { number: '+18005550199', name: 'Acme Support' },
    dialPrefix: '9',
    trunkGroup: 'tg-outbound-1',
    previewKeys: ['orderId', 'reason'],
  };
  const sent = contexts(cc.voice, id);
  assert.deepEqual(
    sent.map((c) => c.type),
    ['dial', 'reserve_agent', 'connect'],
  );
  for (const c of sent) {
    const { attachedData, ...rest } = c.context!;
    assert.deepEqual(rest, expected, `${c.type} carries the context`);
    // single_json (the default): one key holding the userData as JSON (its key order is the stored one).
    assert.deepEqual(Object.keys(attachedData), ['GES_UserData']);
    assert.deepEqual(JSON.parse(attachedData.GES_UserData as string), { orderId: 'A-1', reason: 'late delivery', basket: { items: 2 } });
  }
  // On the platform's side: what the simulator got, and what its agent was shown.
  const screen = cc.sim.agentScreen(`${id}:1`);
  assert.ok(screen, 'the agent was shown the callback');
  assert.equal(screen.userData.orderId, 'A-1');
  assert.deepEqual(screen.userData, { orderId: 'A-1', reason: 'late delivery', basket: { items: 2 } });
  assert.deepEqual(screen.preview, [
    { key: 'orderId', value: 'A-1' },
    { key: 'reason', value: 'late delivery' },
  ]);
  assert.equal(screen.routePoint, '7100@SIP_Switch');
  assert.equal(screen.language, 'fr-FR');
  // The context went to the platform and nowhere else (the engine logs little on a good day; the log at trace level is searched).
  for (const line of cc.logLines) assert.ok(!line.includes('late delivery') && !line.includes('A-1') && !line.includes('4155553001'), line);
});

test("agent first, separate_keys: each userData key is its own attached key, and the service's route point is used when the callback gives none", async (t) => {
  const cc = await contactCenter(t, { firstConnectParty: 'AGENT', attachUdata: 'separate_keys', routePoint: '7000@SIP_Switch' });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553002', userData: { orderId: 'B-7', vip: true } });
  assert.equal((await cc.untilCompleted(id)).reason, 'AGENT_CONNECTED');
  const sent = contexts(cc.voice, id);
  assert.deepEqual(
    sent.map((c) => c.type),
    ['reserve_agent', 'dial', 'connect'],
  );
  for (const c of sent) assert.deepEqual(c.context, { attachedData: { orderId: 'B-7', vip: true }, routePoint: '7000@SIP_Switch', priority: 0 }, c.type);
  assert.deepEqual(cc.sim.agentScreen(`${id}:1`)?.userData, { orderId: 'B-7', vip: true });
  assert.deepEqual(cc.sim.agentScreen(`${id}:1`)?.preview, [], 'no preview keys configured');
});

test('userData too large to stay inline still reaches the agent; what exceeds the bounds is left out and said so', async (t) => {
  const cc = await contactCenter(t, { attachUdata: 'separate_keys' });
  // About 40 kB of userData: stored deflated in chunks, more than a call's context may carry.
  const userData: Record<string, string> = { orderId: 'C-3' };
  for (let i = 0; i < 40; i += 1) userData[`note${i}`] = `${i}:`.padEnd(1000, 'x');
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553003', userData });
  assert.equal((await cc.untilCompleted(id)).reason, 'AGENT_CONNECTED');
  const [dial] = contexts(cc.voice, id);
  const context = dial!.context!;
  assert.equal(context.truncated, true);
  assert.ok(Buffer.byteLength(JSON.stringify(context.attachedData)) <= CALL_CONTEXT_LIMITS.attachedBytes);
  const keys = Object.keys(context.attachedData);
  assert.deepEqual(keys, Object.keys(userData).slice(0, keys.length), 'the first keys, in order');
  assert.ok(keys.length >= 15 && keys.length < 41);
  assert.equal(cc.sim.agentScreen(`${id}:1`)?.userData.orderId, 'C-3');
});

test('onMachine RETRY (the default): a machine is dialed again after retry.machine.delaySec, then FAIL_CALL_TO_CUSTOMER', async (t) => {
  const cc = await contactCenter(t, { retry: { machine: { maxAttempts: 2, delaySec: 30 } } as ServiceOptions['retry'] }, { customers: ONLY('machine') });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553004' });
  assert.equal((await cc.untilCompleted(id)).reason, 'FAIL_CALL_TO_CUSTOMER');
  const dials = cc.voice.sent.filter((c) => c.type === 'dial');
  assert.equal(dials.length, 2);
  for (const d of dials) assert.deepEqual(d.type === 'dial' && d.progress, { detect: true, onMachine: 'hang_up' }, 'the platform hangs up on machines');
  assert.ok(!cc.voice.sent.some((c) => c.type === 'leave_message'));
  assert.deepEqual(cc.outcomes, ['machine', 'machine']);
});

test('onMachine LEAVE_MESSAGE: GES has the message left, then the callback completes MESSAGE_LEFT without a retry', async (t) => {
  const cc = await contactCenter(
    t,
    { onMachine: 'LEAVE_MESSAGE', machineMessageText: 'We tried to call you back about your order.' },
    { customers: ONLY('machine') },
  );
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553005' });
  assert.equal((await cc.untilCompleted(id)).reason, 'MESSAGE_LEFT');
  const key = `${id}:1`;
  const dial = cc.voice.sent.find((c) => c.type === 'dial');
  assert.deepEqual(dial?.type === 'dial' && dial.progress, { detect: true, onMachine: 'wait' });
  assert.deepEqual(
    cc.voice.sent.filter((c) => c.type === 'leave_message'),
    [{ type: 'leave_message', dialKey: key, message: { text: 'We tried to call you back about your order.' } }],
  );
  assert.deepEqual(cc.sim.ledger.resultOf(key), { outcome: 'machine', connected: false, messageLeft: true });
  assert.equal(cc.sim.dialsPlaced(), 1, 'no second dial');
  const details = (await cc.history(id)).map((e) => e.detail);
  assert.ok(details.includes('machine: leaving message') && details.includes('message left'), details.join(' / '));
  assert.deepEqual(cc.outcomes, ['machine']);
});

test('onMachine LEAVE_MESSAGE agent first: the agent that placed the call is given back once the message is left', async (t) => {
  const cc = await contactCenter(t, { firstConnectParty: 'AGENT', onMachine: 'LEAVE_MESSAGE', machineMessageId: 'prompt-42' }, { customers: ONLY('machine') });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553006' });
  assert.equal((await cc.untilCompleted(id)).reason, 'MESSAGE_LEFT');
  const key = `${id}:1`;
  assert.deepEqual(
    cc.voice.sent.filter((c) => c.type === 'leave_message'),
    [{ type: 'leave_message', dialKey: key, message: { id: 'prompt-42' } }],
  );
  assert.equal(cc.voice.sent.filter((c) => c.type === 'release_agent' && c.dialKey === key).length, 1);
  await cc.settle();
  assert.equal(cc.sim.agentsHeld(), 0);
});

test('onMachine TREAT_AS_ANSWERED: the machine is put through to an agent like a person', async (t) => {
  const cc = await contactCenter(t, { onMachine: 'TREAT_AS_ANSWERED' }, { customers: ONLY('machine') });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553007', userData: { orderId: 'D-4' } });
  assert.equal((await cc.untilCompleted(id)).reason, 'AGENT_CONNECTED');
  const key = `${id}:1`;
  assert.deepEqual(cc.sim.ledger.resultOf(key)?.outcome, 'machine');
  assert.equal(cc.sim.ledger.resultOf(key)?.connected, true);
  assert.equal(cc.sim.agentScreen(key)?.userData.orderId, 'D-4');
  assert.ok((await cc.history(id)).some((e) => e.detail === 'machine: treated as answered'));
  assert.deepEqual(cc.outcomes, ['machine']);
});

test('cpdEnable false: the platform detects nothing, a machine is reported answered and gets an agent, whatever onMachine says', async (t) => {
  const cc = await contactCenter(t, { cpdEnable: false, onMachine: 'LEAVE_MESSAGE', machineMessageText: 'Hello' }, { customers: ONLY('machine') });
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553008' });
  assert.equal((await cc.untilCompleted(id)).reason, 'AGENT_CONNECTED');
  const dial = cc.voice.sent.find((c) => c.type === 'dial');
  assert.deepEqual(dial?.type === 'dial' && dial.progress, { detect: false, onMachine: 'hang_up' });
  assert.ok(!cc.voice.heard.some((e) => e.type === 'machine'), 'no machine reported');
  assert.equal(cc.sim.ledger.resultOf(`${id}:1`)?.outcome, 'answered');
  assert.deepEqual(cc.outcomes, ['answered']);
});

test('fax and sit end the callback at the first attempt (FAIL_CALL_TO_CUSTOMER), each counted as its own dial outcome', async (t) => {
  for (const [outcome, weight] of [
    ['fax', 'fax'],
    ['sit', 'sit'],
  ] as const) {
    const cc = await contactCenter(t, {}, { customers: ONLY(weight) });
    const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553009' });
    assert.equal((await cc.untilCompleted(id)).reason, 'FAIL_CALL_TO_CUSTOMER', outcome);
    assert.equal(cc.sim.dialsPlaced(), 1, `${outcome}: one attempt`);
    assert.deepEqual(cc.outcomes, [outcome]);
  }
});

test('a network failure is retried by retry.networkFailure and ends FAIL_ERROR', async (t) => {
  const cc = await contactCenter(
    t,
    { retry: { networkFailure: { maxAttempts: 3, delaySec: 20 } } as ServiceOptions['retry'] },
    { customers: ONLY('networkFailure') },
  );
  const { id } = await cc.callbacks.create(cc.who, { serviceName: 'sales', phoneNumber: '+14155553010' });
  assert.equal((await cc.untilCompleted(id)).reason, 'FAIL_ERROR');
  assert.equal(cc.sim.dialsPlaced(), 3);
  assert.deepEqual(cc.outcomes, ['network_failure', 'network_failure', 'network_failure']);
  const history = await cc.history(id);
  assert.equal(history.filter((e) => e.detail === 'network_failure').length, 3, 'each attempt says why it ended');
});
