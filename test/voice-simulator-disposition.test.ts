import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator, type SimDispositionConfig } from '../src/voice/simulator/contact-center-simulator.ts';
import type { VoiceEvent } from '../src/voice/voice-port.ts';
import { dispositionDetail, recreateDesiredTime, recreateIdempotencyKey } from '../src/domain/disposition.ts';
import { parseServiceOptions } from '../src/domain/service-options.ts';

/**
 * The simulator's disposition dialog (disposition-desk.ts) and the pure rules of a disposition
 * (src/domain/disposition.ts). No database: the engine's side is test/engine-disposition.test.ts.
 */

const DAY_START = Date.UTC(2030, 0, 7, 8);
const ANSWER = { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 };

/** Serves `calls` customers one after the other (agent first, one agent) and asks each call's dialog when it ends. */
async function servedDay(seed: number, calls: number, dispositions: SimDispositionConfig | undefined, askDialog = true) {
  const clock = new SimClock(DAY_START);
  const sim = new ContactCenterSimulator({
    seed,
    clock,
    customers: { answer: 0.7, busy: 0.3, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { 'acme/sales': { agents: 1, handleTimeSec: { mean: 60, sd: 20 } } },
    ...(dispositions === undefined ? {} : { dispositions }),
  });
  const events: VoiceEvent[] = [];
  sim.onEvent((e) => {
    events.push(e);
  });
  await sim.start();
  const step = () => clock.advanceBy(1000);
  const last = (key: string) => events.filter((e) => 'dialKey' in e && e.dialKey === key).at(-1);
  for (let n = 1; n <= calls; n += 1) {
    const key = `cb-${n}:1`;
    await sim.send({ type: 'reserve_agent', dialKey: key, tenant: 'acme', queue: 'sales' });
    for (let i = 0; i < 600 && last(key)?.type !== 'agent_reserved' && last(key)?.type !== 'no_agent'; i += 1) step();
    const reserved = last(key);
    if (reserved?.type !== 'agent_reserved') continue;
    await sim.send({ type: 'dial', dialKey: key, tenant: 'acme', queue: 'sales', phone: `+1415555${String(1000 + n)}`, agentId: reserved.agentId });
    for (let i = 0; i < 600 && last(key)?.type === 'agent_reserved'; i += 1) step();
    if (last(key)?.type === 'answered') {
      await sim.send({ type: 'connect', dialKey: key, agentId: reserved.agentId });
      for (let i = 0; i < 3600 && last(key)?.type !== 'call_ended'; i += 1) step();
      if (askDialog) await sim.send({ type: 'disposition_request', dialKey: key, timeoutSec: 45 });
    } else {
      await sim.send({ type: 'release_agent', dialKey: key, agentId: reserved.agentId });
    }
    for (let i = 0; i < 120; i += 1) step(); // past every dialog's 45 s
  }
  await sim.stop();
  return { events, sim };
}

test('dispositions are drawn from their own seeded stream: the same seed gives the same choices, and turning dialogs on changes no other draw', async () => {
  const mix = { mix: { DONE: 0.5, CALL_BACK_LATER: 0.3, none: 0.2 }, callBackLaterInSec: 7200 };
  const a = await servedDay(5, 20, mix);
  const b = await servedDay(5, 20, mix);
  const plain = await servedDay(5, 20, undefined, false);
  const dispositions = a.events.filter((e) => e.type === 'disposition');
  assert.deepEqual(
    dispositions,
    b.events.filter((e) => e.type === 'disposition'),
    'same seed, same choices at the same times',
  );
  const codes = new Set(dispositions.map((e) => (e.type === 'disposition' ? e.code : '')));
  assert.ok(codes.has('DONE') && codes.has('CALL_BACK_LATER'), `a mix of choices: ${[...codes].join(', ')}`);
  const served = a.events.filter((e) => e.type === 'call_ended' && e.talkSeconds > 0).length;
  assert.ok(dispositions.length < served, 'some agents let the dialog time out (none), and then nothing is sent');
  for (const e of dispositions) {
    assert.ok(e.type === 'disposition');
    if (e.code === 'CALL_BACK_LATER') assert.equal(e.desiredTime, new Date(e.at + 7200_000).toISOString());
    else assert.equal(e.desiredTime, undefined);
  }
  const callEvents = (events: VoiceEvent[]) => events.filter((e) => e.type !== 'disposition');
  assert.deepEqual(callEvents(a.events), callEvents(plain.events), 'the calls themselves are as without dialogs');
});

test('the dialog goes to the agent who talked, once; a call never connected, a repeat, or a choice slower than the timeout sends nothing', async () => {
  const clock = new SimClock(DAY_START);
  const phone = '+14155550170';
  const slow = '+14155550171';
  const sim = new ContactCenterSimulator({
    seed: 1,
    clock,
    customers: ANSWER,
    queues: { 'acme/sales': { agents: 2, handleTimeSec: { mean: 30, sd: 0 } } },
    dispositions: { perNumber: { [phone]: { code: 'WRONG_NUMBER', note: 'not them', afterSec: 10 }, [slow]: { code: 'DONE', afterSec: 60 } } },
  });
  const events: VoiceEvent[] = [];
  sim.onEvent((e) => {
    events.push(e);
  });
  await sim.start();
  for (const [key, number] of [
    ['cb-1:1', phone],
    ['cb-2:1', slow],
  ] as const) {
    await sim.send({ type: 'dial', dialKey: key, tenant: 'acme', queue: 'sales', phone: number });
  }
  clock.advanceBy(60_000); // both answered (time to answer ~8 s), waiting for connect
  const agents = sim.agentIds('acme', 'sales');
  await sim.send({ type: 'connect', dialKey: 'cb-1:1', agentId: agents[0]! });
  await sim.send({ type: 'connect', dialKey: 'cb-2:1', agentId: agents[1]! });
  clock.advanceBy(40_000);
  assert.equal(events.filter((e) => e.type === 'call_ended').length, 2);
  for (const key of ['cb-1:1', 'cb-1:1', 'cb-2:1', 'cb-unknown:1']) await sim.send({ type: 'disposition_request', dialKey: key, timeoutSec: 45 });
  clock.advanceBy(120_000);
  const dispositions = events.filter((e) => e.type === 'disposition');
  assert.equal(dispositions.length, 1);
  const [d] = dispositions;
  assert.ok(d?.type === 'disposition');
  assert.deepEqual({ ...d, at: 0 }, { type: 'disposition', dialKey: 'cb-1:1', agentId: agents[0], code: 'WRONG_NUMBER', note: 'not them', at: 0 });
  await sim.stop();
});

test('the rules of a disposition: desired time, idempotency key, history detail, options and their defaults', () => {
  const options = parseServiceOptions({});
  assert.equal(options.enableDispositionDialog, false, 'off by default: nothing changes for existing services');
  assert.equal(options.agentDispositionTimeoutSec, 45);
  assert.equal(options.callBackLaterDelaySec, 3600);
  assert.throws(() => parseServiceOptions({ agentDispositionTimeoutSec: 0 }), /agentDispositionTimeoutSec/);

  const shown = Date.UTC(2030, 0, 7, 10, 0, 0);
  assert.equal(recreateDesiredTime(undefined, shown, 3600), '2030-01-07T11:00:00.000Z');
  assert.equal(recreateDesiredTime('2030-01-08T09:00:00Z', shown, 3600), '2030-01-08T09:00:00Z', "the agent's choice as sent");
  assert.equal(recreateIdempotencyKey('0190-ab'), 'ges-recreate:0190-ab');

  assert.equal(dispositionDetail('TIMEOUT'), 'disposition TIMEOUT');
  assert.equal(
    dispositionDetail('CALL_BACK_LATER', { agentId: 'a-1', recreatedAs: 'new-id', note: 'soon' }),
    'disposition CALL_BACK_LATER, by agent a-1, recreated as new-id: soon',
  );
  assert.equal(dispositionDetail('DONE', { note: 'x'.repeat(900) }).length, 'disposition DONE: '.length + 500, 'the note is bounded');
});
