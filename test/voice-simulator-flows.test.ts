import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator, type ContactCenterSimulatorConfig } from '../src/voice/simulator/contact-center-simulator.ts';
import type { VoiceCommand, VoiceEvent } from '../src/voice/voice-port.ts';

/**
 * The simulator's side of customer confirmation and agent preview (src/voice/simulator/call-flows.ts),
 * without the engine: seeded draws, per-number and per-agent answers, the exclusion rule of
 * reserve_agent, and what a repeat or a command out of place is told.
 */

const START = Date.UTC(2030, 0, 7, 8);
const ANSWER = { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 };

function setup(overrides: Partial<ContactCenterSimulatorConfig> = {}) {
  const clock = new SimClock(START);
  const sim = new ContactCenterSimulator({
    seed: 3,
    clock,
    customers: ANSWER,
    customerPatienceSec: 600,
    queues: { 'acme/sales': { agents: 3, handleTimeSec: { mean: 60, sd: 5 } } },
    ...overrides,
  });
  const events: VoiceEvent[] = [];
  sim.onEvent((e) => {
    events.push(e);
  });
  const send = async (c: VoiceCommand) => {
    await sim.send(c);
    clock.advanceBy(0);
  };
  const of = (key: string) => events.filter((e) => 'dialKey' in e && e.dialKey === key);
  return { clock, sim, events, send, of };
}

/** Confirmation outcomes of `n` customers under one seed. */
async function confirmations(seed: number, n: number): Promise<string[]> {
  const s = setup({ seed, confirmation: { confirm: 0.5, decline: 0.25, timeout: 0.25 } });
  await s.sim.start();
  for (let i = 0; i < n; i++) await s.send({ type: 'dial', dialKey: `c${i}:1`, tenant: 'acme', queue: 'sales', phone: `+1415555${String(1000 + i)}` });
  s.clock.advanceBy(40_000);
  for (let i = 0; i < n; i++) await s.send({ type: 'confirm_customer', dialKey: `c${i}:1`, prompt: 'p', timeoutSec: 10 });
  s.clock.advanceBy(20_000);
  return Array.from({ length: n }, (_, i) => {
    const e = s.of(`c${i}:1`).find((x) => x.type === 'customer_confirmed' || x.type === 'customer_not_confirmed');
    return e?.type === 'customer_not_confirmed' ? e.why : (e?.type ?? 'none');
  });
}

test('confirmations are drawn from the seeded mix: the same seed gives the same answers, and every answer comes', async () => {
  const a = await confirmations(9, 40);
  assert.deepEqual(await confirmations(9, 40), a);
  assert.ok(!a.includes('none'), 'every customer answered within the timeout');
  for (const kind of ['customer_confirmed', 'declined', 'timeout']) assert.ok(a.includes(kind), `${kind} drawn`);
});

test('confirm_customer: a repeat is told the decision again; for a call never answered the answer is failed', async () => {
  const s = setup({ perNumberConfirm: (phone) => (phone === '+14155550001' ? 'decline' : undefined) });
  await s.sim.start();
  await s.send({ type: 'confirm_customer', dialKey: 'x:1', prompt: 'p', timeoutSec: 5 });
  assert.deepEqual(
    s.of('x:1').map((e) => e.type),
    ['failed'],
  );
  await s.send({ type: 'dial', dialKey: 'd:1', tenant: 'acme', queue: 'sales', phone: '+14155550001' });
  s.clock.advanceBy(40_000);
  await s.send({ type: 'confirm_customer', dialKey: 'd:1', prompt: 'p', timeoutSec: 5 });
  await s.send({ type: 'confirm_customer', dialKey: 'd:1', prompt: 'p', timeoutSec: 5 }); // while the prompt plays: nothing more
  s.clock.advanceBy(6_000);
  await s.send({ type: 'confirm_customer', dialKey: 'd:1', prompt: 'p', timeoutSec: 5 });
  const answers = s.of('d:1').filter((e) => e.type === 'customer_not_confirmed');
  assert.equal(answers.length, 2, 'the decision, and once more for the repeat after it');
  assert.deepEqual(answers[0], answers[1]);
});

test('reserve_agent never holds an excluded agent, even the one held for the key; only excluded agents free: no_agent', async () => {
  const s = setup();
  await s.sim.start();
  await s.send({ type: 'reserve_agent', dialKey: 'r:1', tenant: 'acme', queue: 'sales' });
  assert.equal(s.sim.agentState('acme/sales/agent-1'), 'reserved');
  await s.send({ type: 'reserve_agent', dialKey: 'r:1', tenant: 'acme', queue: 'sales', excludeAgents: ['acme/sales/agent-1'] });
  const reserved = s.of('r:1').filter((e) => e.type === 'agent_reserved');
  assert.deepEqual(
    reserved.map((e) => (e.type === 'agent_reserved' ? e.agentId : '')),
    ['acme/sales/agent-1', 'acme/sales/agent-2'],
  );
  assert.equal(s.sim.agentState('acme/sales/agent-1'), 'free', 'the excluded agent held for the key was let go');
  await s.send({
    type: 'reserve_agent',
    dialKey: 'q:1',
    tenant: 'acme',
    queue: 'sales',
    excludeAgents: ['acme/sales/agent-1', 'acme/sales/agent-3'],
  });
  assert.deepEqual(
    s.of('q:1').map((e) => e.type),
    ['no_agent'],
  );
});

test('preview: without a reject button a would-be reject accepts; a preview of an agent not held is no_agent; a timeout with timeoutSetsNotReady ends the hold', async () => {
  const s = setup({
    perAgentPreview: (id) => (id.endsWith('agent-1') ? 'reject' : 'timeout'),
    notReadyAfterPreviewSec: 60,
  });
  await s.sim.start();
  await s.send({ type: 'reserve_agent', dialKey: 'p:1', tenant: 'acme', queue: 'sales' });
  await s.send({ type: 'preview', dialKey: 'p:1', agentId: 'acme/sales/agent-1', timeoutSec: 10, allowReject: false, timeoutSetsNotReady: false });
  s.clock.advanceBy(10_000);
  assert.deepEqual(
    s.of('p:1').map((e) => e.type),
    ['agent_reserved', 'preview_accepted'],
  );
  await s.send({ type: 'preview', dialKey: 'p:1', agentId: 'acme/sales/agent-3', timeoutSec: 10, allowReject: true, timeoutSetsNotReady: false });
  assert.equal(s.of('p:1').at(-1)?.type, 'no_agent');

  await s.send({ type: 'reserve_agent', dialKey: 't:1', tenant: 'acme', queue: 'sales' });
  await s.send({ type: 'preview', dialKey: 't:1', agentId: 'acme/sales/agent-2', timeoutSec: 10, allowReject: true, timeoutSetsNotReady: true });
  s.clock.advanceBy(9_000);
  assert.equal(s.sim.agentState('acme/sales/agent-2'), 'reserved', 'still deciding before the timeout');
  s.clock.advanceBy(1_000);
  const rejected = s.of('t:1').find((e) => e.type === 'preview_rejected');
  assert.ok(rejected?.type === 'preview_rejected' && rejected.why === 'timeout');
  assert.equal(s.sim.agentState('acme/sales/agent-2'), 'not_ready');
  assert.ok(s.events.some((e) => e.type === 'agent_not_ready' && e.agentId === 'acme/sales/agent-2' && e.at === rejected.at));
  assert.equal(s.sim.agentsHeld(), 1, 'only p:1 still holds its agent; the timed-out hold is over');
  s.clock.advanceBy(60_000);
  assert.equal(s.sim.agentState('acme/sales/agent-2'), 'free', 'ready again after notReadyAfterPreviewSec');
});

test('a confirmation or preview mix that is not a distribution is refused', () => {
  assert.throws(() => setup({ confirmation: { confirm: 0.5, decline: 0.1, timeout: 0.1 } }), /confirmation probabilities must sum to 1/);
  assert.throws(() => setup({ preview: { accept: 1.5, reject: 0, timeout: -0.5 } }), /preview\.accept/);
});
