import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { Prng } from '../src/voice/simulator/prng.ts';
import { mixCustomerOutcomes, DEFAULT_CUSTOMER_OUTCOMES } from '../src/voice/simulator/customer-outcomes.ts';
import { ContactCenterSimulator, type ContactCenterSimulatorConfig } from '../src/voice/simulator/contact-center-simulator.ts';
import { dialKeyOf, type DialKey, type VoiceCommand, type VoiceEvent } from '../src/voice/voice-port.ts';
import { foldLedgerChanges, type LedgerChange } from '../src/voice/simulator/simulator-resume.ts';

/** Monday 2030-01-07 08:00 UTC: the simulated day starts here. */
const DAY_START = Date.UTC(2030, 0, 7, 8);
const HOUR = 3_600_000;

const NO_FAILURES = { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 };

function setup(seed: number | string, overrides: Partial<ContactCenterSimulatorConfig> = {}) {
  const clock = new SimClock(DAY_START);
  const sim = new ContactCenterSimulator({
    seed,
    clock,
    queues: { 'acme/sales': { agents: 3, handleTimeSec: { mean: 120, sd: 40 }, wrapUpSec: 10 } },
    ...overrides,
  });
  const events: VoiceEvent[] = [];
  sim.onEvent((e) => {
    events.push(e);
  });
  return { clock, sim, events };
}

/** Sends from inside handlers or scheduled tasks, where nothing can await; a refusal fails the test. */
function fire(sim: ContactCenterSimulator, command: VoiceCommand): void {
  sim.send(command).catch((error: unknown) => {
    throw error;
  });
}

function eventsOf(events: VoiceEvent[], dialKey: DialKey): VoiceEvent[] {
  return events.filter((e) => 'dialKey' in e && e.dialKey === dialKey);
}

const OUTCOME_TYPES = new Set(['answered', 'busy', 'no_answer', 'machine', 'invalid_number', 'failed']);

/**
 * A minimal engine: one FIFO per queue of attempts waiting for an agent. Customer-first attempts
 * join it once answered and are connected to the agent reserved for them; agent-first attempts join
 * it on arrival, and dial for the agent reserved for them. One reserve in flight per queue; a
 * `no_agent` waits for the next `agent_ready`. As the contract asks of GES, an attempt that ends
 * without its reserved agent being connected releases that agent (release_agent).
 */
function attachEngine(sim: ContactCenterSimulator) {
  const queueOf = new Map<DialKey, { tenant: string; queue: string; phone: string; agentFirst: boolean }>();
  const waiting = new Map<string, DialKey[]>();
  const reserving = new Set<string>();
  const agentOf = new Map<DialKey, string>();
  const connected = new Set<DialKey>();
  const finished = new Set<DialKey>();

  const qk = (tenant: string, queue: string) => `${tenant}/${queue}`;
  const pump = (key: string) => {
    const line = waiting.get(key) ?? [];
    if (reserving.has(key) || line.length === 0) return;
    const dialKey = line[0]!;
    const call = queueOf.get(dialKey)!;
    reserving.add(key);
    fire(sim, { type: 'reserve_agent', dialKey, tenant: call.tenant, queue: call.queue });
  };
  const enqueue = (dialKey: DialKey) => {
    const call = queueOf.get(dialKey)!;
    const key = qk(call.tenant, call.queue);
    waiting.set(key, [...(waiting.get(key) ?? []), dialKey]);
    pump(key);
  };
  const leave = (dialKey: DialKey) => {
    const call = queueOf.get(dialKey);
    if (call === undefined) return;
    const key = qk(call.tenant, call.queue);
    waiting.set(
      key,
      (waiting.get(key) ?? []).filter((k) => k !== dialKey),
    );
  };

  sim.onEvent((e) => {
    switch (e.type) {
      case 'agent_ready':
        pump(qk(e.tenant, e.queue));
        return;
      case 'agent_reserved':
      case 'no_agent': {
        const call = queueOf.get(e.dialKey)!;
        const key = qk(call.tenant, call.queue);
        reserving.delete(key);
        if (e.type === 'agent_reserved') {
          leave(e.dialKey);
          agentOf.set(e.dialKey, e.agentId);
          if (call.agentFirst) fire(sim, { type: 'dial', dialKey: e.dialKey, tenant: call.tenant, queue: call.queue, phone: call.phone, agentId: e.agentId });
          else fire(sim, { type: 'connect', dialKey: e.dialKey, agentId: e.agentId });
          pump(key);
        } else if (finished.has(e.dialKey)) {
          pump(key);
        }
        return;
      }
      case 'answered':
        if (queueOf.get(e.dialKey)!.agentFirst) fire(sim, { type: 'connect', dialKey: e.dialKey, agentId: agentOf.get(e.dialKey)! });
        else enqueue(e.dialKey);
        return;
      case 'connected':
        connected.add(e.dialKey);
        return;
      case 'call_ended':
      case 'busy':
      case 'no_answer':
      case 'machine':
      case 'invalid_number':
      case 'failed': {
        finished.add(e.dialKey);
        leave(e.dialKey);
        const agentId = agentOf.get(e.dialKey);
        if (agentId !== undefined && !connected.has(e.dialKey)) fire(sim, { type: 'release_agent', dialKey: e.dialKey, agentId });
        return;
      }
      default:
        return;
    }
  });

  return {
    finished,
    request(dialKey: DialKey, tenant: string, queue: string, phone: string, agentFirst: boolean) {
      queueOf.set(dialKey, { tenant, queue, phone, agentFirst });
      if (agentFirst) enqueue(dialKey);
      else fire(sim, { type: 'dial', dialKey, tenant, queue, phone });
    },
  };
}

const DAY_QUEUES = {
  'acme/sales': { agents: 10, handleTimeSec: { mean: 240, sd: 120 }, wrapUpSec: 30 },
  'acme/support': { agents: 15, handleTimeSec: { mean: 420, sd: 200 }, wrapUpSec: 45 },
  'globex/billing': { agents: 5, handleTimeSec: { mean: 180, sd: 60 }, wrapUpSec: 20 },
};

/** A simulated working day: about `calls` callback requests arrive as a Poisson stream over `hours`, spread over the three queues. */
function runDay(seed: number | string, { calls, hours }: { calls: number; hours: number }) {
  const { clock, sim, events } = setup(seed, { queues: DAY_QUEUES });
  const engine = attachEngine(sim);
  // The request stream has its own generator: the commands stay the same whatever the simulator's seed.
  const arrivals = new Prng('arrivals');
  const queueNames = Object.keys(DAY_QUEUES);
  const closing = DAY_START + hours * HOUR;
  let t = DAY_START + arrivals.exponential((hours * HOUR) / calls);
  const requested: DialKey[] = [];
  for (let i = 0; t < closing; i += 1, t += arrivals.exponential((hours * HOUR) / calls)) {
    const [tenant, queue] = queueNames[arrivals.int(queueNames.length)]!.split('/') as [string, string];
    const dialKey = dialKeyOf(`cb-${i}`, 1);
    const phone = `+1415555${String(1000 + i).padStart(4, '0')}`;
    const agentFirst = arrivals.bernoulli(0.3);
    requested.push(dialKey);
    clock.schedule(Math.round(t), () => engine.request(dialKey, tenant, queue, phone, agentFirst));
  }
  clock.schedule(closing, () => {}); // the day runs at least to closing time
  void sim.start();
  clock.runUntilIdle(hours * HOUR + 4 * HOUR);
  return { clock, sim, events, engine, requested };
}

test('SimClock runs tasks in time order, ties in scheduling order, and never in the past', () => {
  const clock = new SimClock(1000);
  const ran: string[] = [];
  clock.schedule(3000, () => ran.push('c'));
  clock.schedule(2000, () => ran.push('b1'));
  clock.schedule(2000, () => ran.push('b2'));
  const dropped = clock.schedule(2500, () => ran.push('dropped'));
  clock.schedule(500, () => ran.push(`late@${clock.now()}`));
  dropped.cancel();
  assert.equal(clock.pending(), 4);
  assert.equal(ran.length, 0, 'scheduling never runs anything');
  clock.advanceTo(2000);
  assert.deepEqual(ran, ['late@1000', 'b1', 'b2']);
  assert.equal(clock.now(), 2000);
  assert.throws(() => clock.advanceTo(1999), RangeError);
  clock.schedule(2000, () => {
    ran.push('now');
    clock.after(500, () => ran.push('chained'));
  });
  assert.equal(clock.advanceBy(600), 2, 'a task scheduled by a task runs in the same advance when due');
  assert.deepEqual(ran.slice(3), ['now', 'chained']);
  assert.equal(clock.now(), 2600);
  clock.advanceTo(3000);
  assert.deepEqual(ran.slice(3), ['now', 'chained', 'c']);
  assert.equal(clock.pending(), 0);
});

test('SimClock.runUntilIdle stops at the last task, or at the limit for a task that reschedules itself', () => {
  const clock = new SimClock(0);
  clock.schedule(5000, () => {});
  assert.equal(clock.runUntilIdle(), 1);
  assert.equal(clock.now(), 5000, 'idle: the clock stays at the last task');
  let ticks = 0;
  const tick = () => {
    ticks += 1;
    clock.after(1000, tick);
  };
  clock.after(1000, tick);
  clock.runUntilIdle(10_000);
  assert.equal(ticks, 10);
  assert.equal(clock.now(), 15_000, 'limit reached: the clock stands at now + limit');
  assert.throws(() => {
    clock.schedule(clock.now(), () => clock.advanceBy(1));
    clock.advanceBy(0);
  }, /already advancing/);
});

test('SimClock real-time driver follows the (mocked) wall clock at the chosen speed', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  const clock = new SimClock(DAY_START);
  const fired: number[] = [];
  clock.schedule(DAY_START + 60_000, () => fired.push(clock.now()));
  clock.startRealTime(60, 50);
  assert.equal(clock.realTime, true);
  t.mock.timers.tick(500);
  assert.equal(clock.now(), DAY_START + 30_000, '0.5 s of wall time is 30 s of simulated time at 60x');
  assert.deepEqual(fired, []);
  t.mock.timers.tick(500);
  assert.deepEqual(fired, [DAY_START + 60_000]);
  clock.stopRealTime();
  assert.equal(clock.realTime, false);
  t.mock.timers.tick(10_000);
  assert.equal(clock.now(), DAY_START + 60_000, 'stopped: time stands still');
});

test('Prng is reproducible, and its distributions have the requested moments', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const seqA = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    seqA,
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.notDeepEqual(
    seqA,
    Array.from({ length: 5 }, () => c.next()),
  );
  assert.ok(seqA.every((x) => x >= 0 && x < 1));

  const r = new Prng('moments');
  const n = 40_000;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = (xs: number[]) => {
    const m = mean(xs);
    return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
  };
  const logn = Array.from({ length: n }, () => r.lognormal(300, 120));
  assert.ok(Math.abs(mean(logn) - 300) < 6, `lognormal mean ${mean(logn)}`);
  assert.ok(Math.abs(sd(logn) - 120) < 8, `lognormal sd ${sd(logn)}`);
  assert.ok(logn.every((x) => x > 0));
  assert.equal(r.lognormal(300, 0), 300);
  const expo = Array.from({ length: n }, () => r.exponential(50));
  assert.ok(Math.abs(mean(expo) - 50) < 1.5, `exponential mean ${mean(expo)}`);
  const unif = Array.from({ length: n }, () => r.uniform(10, 20));
  assert.ok(unif.every((x) => x >= 10 && x < 20) && Math.abs(mean(unif) - 15) < 0.1);
  const heads = Array.from({ length: n }, () => r.bernoulli(0.25)).filter(Boolean).length;
  assert.ok(Math.abs(heads / n - 0.25) < 0.01);
  const counts = { x: 0, y: 0, z: 0 };
  for (let i = 0; i < n; i += 1) counts[r.pick({ x: 1, y: 3, z: 0 })] += 1;
  assert.equal(counts.z, 0);
  assert.ok(Math.abs(counts.y / n - 0.75) < 0.01);
  assert.equal(r.pick([0, 0, 5]), 2);
  assert.throws(() => r.pick([0, 0]), RangeError);
});

test('the same seed and commands give identical event logs; another seed gives a different one', () => {
  const day = (seed: string) => JSON.stringify(runDay(seed, { calls: 200, hours: 2 }).events);
  const first = day('seed-a');
  assert.equal(day('seed-a'), first);
  assert.notEqual(day('seed-b'), first);
  assert.ok(first.length > 10_000, 'a real log, not an empty one');
});

test('dial outcomes over 5,000 calls match the configured probabilities', async () => {
  const { clock, sim, events } = setup(7, { queues: { 'acme/sales': { agents: 1, handleTimeSec: { mean: 60, sd: 10 } } } });
  await sim.start();
  const n = 5000;
  for (let i = 0; i < n; i += 1) {
    await sim.send({ type: 'dial', dialKey: dialKeyOf(`c${i}`, 1), tenant: 'acme', queue: 'sales', phone: `+33612${String(i).padStart(6, '0')}` });
  }
  clock.runUntilIdle();
  const firstOutcome = new Map<string, string>();
  for (const e of events) if ('dialKey' in e && OUTCOME_TYPES.has(e.type) && !firstOutcome.has(e.dialKey)) firstOutcome.set(e.dialKey, e.type);
  assert.equal(firstOutcome.size, n, 'every dial has an outcome');
  const freq = (type: string) => [...firstOutcome.values()].filter((t) => t === type).length / n;
  const expected: Record<string, number> = {
    answered: DEFAULT_CUSTOMER_OUTCOMES.answer,
    busy: DEFAULT_CUSTOMER_OUTCOMES.busy,
    no_answer: DEFAULT_CUSTOMER_OUTCOMES.noAnswer,
    machine: DEFAULT_CUSTOMER_OUTCOMES.machine,
    invalid_number: DEFAULT_CUSTOMER_OUTCOMES.invalid,
  };
  for (const [type, p] of Object.entries(expected)) {
    assert.ok(Math.abs(freq(type) - p) < 0.02, `${type}: ${freq(type)} vs ${p}`);
  }
  // Outcome timing: a no-answer rings exactly the ring timeout; answers come before it.
  const dialAt = DAY_START;
  for (const e of events) {
    if (e.type === 'no_answer') assert.equal(e.at - dialAt, 30_000);
    if (e.type === 'answered') assert.ok(e.at - dialAt < 30_000 && e.at > dialAt);
  }
  const stats = sim.queueStats('acme', 'sales')!;
  assert.equal(stats.dials, n);
  assert.equal(stats.outcomes.answered, Math.round(freq('answered') * n));
  assert.equal(stats.abandoned, stats.outcomes.answered, 'nobody connected them: every answered customer hung up');
});

test('a per-number override forces an outcome; a partial one keeps the others in proportion', async () => {
  const { clock, sim, events } = setup(3, {
    perNumber: (phone) => (phone.endsWith('0000') ? { busy: 1 } : phone.endsWith('9999') ? { answer: 1 } : undefined),
  });
  await sim.start();
  for (let i = 0; i < 200; i += 1) {
    await sim.send({ type: 'dial', dialKey: `busy-${i}:1`, tenant: 'acme', queue: 'sales', phone: `+1415${String(i).padStart(3, '0')}0000` });
    await sim.send({ type: 'dial', dialKey: `ans-${i}:1`, tenant: 'acme', queue: 'sales', phone: `+1415${String(i).padStart(3, '0')}9999` });
  }
  await sim.send({ type: 'dial', dialKey: 'garbage:1', tenant: 'acme', queue: 'sales', phone: 'n/a' });
  clock.runUntilIdle();
  for (let i = 0; i < 200; i += 1) {
    assert.equal(eventsOf(events, `busy-${i}:1`)[0]?.type, 'busy');
    assert.equal(eventsOf(events, `ans-${i}:1`)[0]?.type, 'answered');
  }
  assert.deepEqual(
    eventsOf(events, 'garbage:1').map((e) => e.type),
    ['invalid_number'],
  );

  const half = mixCustomerOutcomes(DEFAULT_CUSTOMER_OUTCOMES, { answer: 0.5 });
  assert.equal(half.answer, 0.5);
  assert.ok(Math.abs(half.busy / half.noAnswer - 0.1 / 0.12) < 1e-9, 'failures keep their relative weights');
  assert.ok(Math.abs(Object.values(half).reduce((s, p) => s + p, 0) - 1) < 1e-9);
  assert.deepEqual(mixCustomerOutcomes(DEFAULT_CUSTOMER_OUTCOMES, { busy: 2, machine: 2 }), { answer: 0, busy: 0.5, noAnswer: 0, machine: 0.5, invalid: 0 });
});

test('answered → connect → call_ended: handle times average the configured mean, then wrap-up, then ready', async () => {
  const { clock, sim, events } = setup(11, {
    customers: NO_FAILURES,
    queues: { 'acme/sales': { agents: 600, handleTimeSec: { mean: 180, sd: 60 }, wrapUpSec: 15 } },
  });
  const agents = sim.agentIds('acme', 'sales');
  sim.onEvent((e) => {
    if (e.type === 'answered') fire(sim, { type: 'connect', dialKey: e.dialKey, agentId: agents[Number(e.dialKey.split(':')[0])]! });
  });
  await sim.start();
  for (let i = 0; i < agents.length; i += 1) await sim.send({ type: 'dial', dialKey: `${i}:1`, tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  clock.runUntilIdle();

  const ended = events.filter((e) => e.type === 'call_ended');
  assert.equal(ended.length, agents.length);
  const mean = ended.reduce((s, e) => s + e.talkSeconds, 0) / ended.length;
  assert.ok(Math.abs(mean - 180) < 8, `mean talk ${mean}`);
  const one = eventsOf(events, '0:1');
  assert.deepEqual(
    one.map((e) => e.type),
    ['answered', 'connected', 'call_ended'],
  );
  const [, connected, end] = one as [VoiceEvent, Extract<VoiceEvent, { type: 'connected' }>, Extract<VoiceEvent, { type: 'call_ended' }>];
  assert.equal(connected.agentId, agents[0]);
  assert.equal(end.at - connected.at, Math.round(end.talkSeconds * 1000));
  const agentLife = events
    .filter((e) => (e.type === 'agent_ready' || e.type === 'agent_not_ready') && e.agentId === agents[0])
    .map((e) => [e.type, e.at - end.at] as const);
  assert.deepEqual(
    agentLife.slice(-2),
    [
      ['agent_not_ready', connected.at - end.at],
      ['agent_ready', 15_000],
    ],
    'ready again after 15 s of wrap-up',
  );

  const stats = sim.queueStats('acme', 'sales')!;
  assert.equal(stats.completedCalls, agents.length);
  assert.ok(Math.abs(stats.meanTalkSec - mean) < 1e-9);
  assert.ok(Math.abs(stats.meanHandleSec - (mean + 15)) < 1e-9, 'handle time = talk + wrap-up');
  assert.ok(stats.sdHandleSec > 40 && stats.sdHandleSec < 80);
  assert.equal(stats.recentHandleSec.length, agents.length);
  assert.equal(sim.availableAgents('acme', 'sales'), agents.length);
});

test('reserve_agent: a free agent (longest idle first), idempotent per key, no_agent when none or unknown queue', async () => {
  const { clock, sim, events } = setup(5, { queues: { 'acme/sales': { agents: 2, handleTimeSec: { mean: 60, sd: 0 } } } });
  await sim.start();
  clock.advanceBy(0);
  assert.equal(sim.availableAgents('acme', 'sales'), 2);
  assert.equal(sim.availableAgents('acme', 'nope'), 0);
  events.length = 0;
  const [a1, a2] = sim.agentIds('acme', 'sales') as [string, string];

  await sim.send({ type: 'reserve_agent', dialKey: 'k1:1', tenant: 'acme', queue: 'sales' });
  await sim.send({ type: 'reserve_agent', dialKey: 'k1:1', tenant: 'acme', queue: 'sales' });
  await sim.send({ type: 'reserve_agent', dialKey: 'k2:1', tenant: 'acme', queue: 'sales' });
  await sim.send({ type: 'reserve_agent', dialKey: 'k3:1', tenant: 'acme', queue: 'sales' });
  await sim.send({ type: 'reserve_agent', dialKey: 'k4:1', tenant: 'acme', queue: 'unknown' });
  clock.advanceBy(0);
  const reply = (key: string) => eventsOf(events, key).map((e) => (e.type === 'agent_reserved' ? `${e.type} ${e.agentId}` : e.type));
  assert.deepEqual(reply('k1:1'), [`agent_reserved ${a1}`, `agent_reserved ${a1}`], 'a retried reserve gets the same agent');
  assert.deepEqual(reply('k2:1'), [`agent_reserved ${a2}`]);
  assert.deepEqual(reply('k3:1'), ['no_agent']);
  assert.deepEqual(reply('k4:1'), ['no_agent']);
  assert.equal(sim.availableAgents('acme', 'sales'), 0);
  assert.deepEqual(sim.snapshot().queues['acme/sales'], { ...sim.snapshot().queues['acme/sales']!, free: 0, reserved: 2, busy: 2 });

  clock.advanceBy(5000);
  await sim.send({ type: 'release_agent', dialKey: 'k2:1', agentId: a2 });
  await sim.send({ type: 'release_agent', dialKey: 'k2:1', agentId: a2 });
  await sim.send({ type: 'release_agent', dialKey: 'k9:1', agentId: a1 });
  clock.advanceBy(1000);
  await sim.send({ type: 'release_agent', dialKey: 'k1:1', agentId: a1 });
  clock.advanceBy(0);
  assert.deepEqual(
    events.filter((e) => e.type === 'agent_ready').map((e) => 'agentId' in e && e.agentId),
    [a2, a1],
    'releases count once, only for the holding key',
  );
  await sim.send({ type: 'reserve_agent', dialKey: 'k5:1', tenant: 'acme', queue: 'sales' });
  clock.advanceBy(0);
  assert.deepEqual(reply('k5:1'), [`agent_reserved ${a2}`], 'the agent idle longest is chosen');
});

test('a repeated dial key places one call and is counted as a duplicate', async () => {
  const { clock, sim, events } = setup(9, { customers: NO_FAILURES });
  await sim.start();
  const dial: VoiceCommand = { type: 'dial', dialKey: dialKeyOf('cb-1', 1), tenant: 'acme', queue: 'sales', phone: '+14155550100' };
  await sim.send(dial);
  await sim.send(dial); // still ringing when carried out: nothing to tell yet
  clock.runUntilIdle();
  await sim.send(dial); // after the attempt is over, too: its end again
  await sim.send({ ...dial, dialKey: dialKeyOf('cb-1', 2) }); // the next attempt is a new key
  clock.runUntilIdle();
  const first = eventsOf(events, 'cb-1:1');
  assert.deepEqual(
    first.map((e) => e.type),
    ['answered', 'call_ended', 'call_ended'],
  );
  assert.deepEqual(first[2], first[1], 'the same event, not a new ending');
  assert.deepEqual(
    eventsOf(events, 'cb-1:2').map((e) => e.type),
    ['answered', 'call_ended'],
  );
  assert.equal(sim.dialsPlaced(), 2);
  assert.equal(sim.duplicateDials(), 2);
  assert.deepEqual(sim.ledger.get('cb-1:1'), { received: 3, dialed: true });
  assert.equal(sim.ledger.duplicates, 2);
  assert.equal(sim.ledger.replays, 1);
  assert.equal(sim.queueStats('acme', 'sales')!.dials, 2);
});

test('a repeated dial, reserve or connect is answered with the latest event of the call, which is never dialed again', async () => {
  const { clock, sim, events } = setup(10, {
    timeToAnswerSec: { mean: 5, sd: 0 },
    customerPatienceSec: 600,
    perNumber: (phone) => (phone.endsWith('0000') ? { busy: 1 } : { answer: 1 }),
  });
  await sim.start();
  clock.advanceBy(0);
  const [a1] = sim.agentIds('acme', 'sales') as [string];
  const dial = (dialKey: string, phone = '+14155550100', queue = 'sales'): VoiceCommand => ({ type: 'dial', dialKey, tenant: 'acme', queue, phone });
  await sim.send(dial('talk:1'));
  await sim.send(dial('busy:1', '+14155550000'));
  await sim.send(dial('nowhere:1', '+14155550100', 'nowhere'));
  clock.advanceBy(1000);
  await sim.send(dial('talk:1'));
  clock.advanceBy(9000);
  assert.deepEqual(
    eventsOf(events, 'talk:1').map((e) => e.type),
    ['answered'],
    'a repeat while ringing gets nothing',
  );

  await sim.send(dial('talk:1'));
  clock.advanceBy(0);
  const talk = () => eventsOf(events, 'talk:1');
  assert.deepEqual(
    talk().map((e) => e.type),
    ['answered', 'answered'],
    'waiting on the line: answered again',
  );
  assert.deepEqual(talk()[1], talk()[0]);

  await sim.send({ type: 'connect', dialKey: 'talk:1', agentId: a1 });
  clock.advanceBy(1000);
  await sim.send(dial('talk:1'));
  await sim.send({ type: 'connect', dialKey: 'talk:1' });
  await sim.send({ type: 'reserve_agent', dialKey: 'talk:1', tenant: 'acme', queue: 'sales' });
  clock.advanceBy(0);
  assert.deepEqual(
    talk().map((e) => e.type),
    ['answered', 'answered', 'connected', 'connected', 'connected', 'connected'],
    'talking: connected again, to each',
  );
  assert.equal(sim.availableAgents('acme', 'sales'), 2, 'the late reserve held no second agent');

  clock.runUntilIdle();
  await sim.send(dial('talk:1'));
  await sim.send(dial('busy:1', '+14155550000'));
  await sim.send(dial('nowhere:1', '+14155550100', 'nowhere'));
  clock.advanceBy(0);
  const ended = talk().filter((e) => e.type === 'call_ended');
  assert.equal(ended.length, 2, 'over: its call_ended again');
  assert.deepEqual(ended[1], ended[0]);
  assert.ok(ended[0]!.type === 'call_ended' && ended[0]!.talkSeconds > 0);
  assert.deepEqual(
    eventsOf(events, 'busy:1').map((e) => e.type),
    ['busy', 'busy'],
  );
  assert.deepEqual(
    eventsOf(events, 'nowhere:1').map((e) => e.type),
    ['failed', 'failed'],
  );
  assert.equal(sim.dialsPlaced(), 2);
  assert.deepEqual(sim.ledger.get('talk:1'), { received: 5, dialed: true });
  assert.equal(sim.ledger.duplicates, 6);
  assert.equal(sim.ledger.replays, 5, 'every repeat but the one while ringing');
});

test('cancel produces no event: it silences a ringing call, hangs up an answered or connected one, frees the held agent and spends the key', async () => {
  const { clock, sim, events } = setup(13, {
    perNumber: (phone) => (phone.endsWith('0000') ? { noAnswer: 1 } : { answer: 1 }),
    timeToAnswerSec: { mean: 5, sd: 0 },
  });
  await sim.start();
  const [a1] = sim.agentIds('acme', 'sales') as [string];
  await sim.send({ type: 'dial', dialKey: 'ring:1', tenant: 'acme', queue: 'sales', phone: '+14155550000' });
  await sim.send({ type: 'dial', dialKey: 'wait:1', tenant: 'acme', queue: 'sales', phone: '+14155550001' });
  await sim.send({ type: 'dial', dialKey: 'talk:1', tenant: 'acme', queue: 'sales', phone: '+14155550002' });
  clock.advanceBy(6000);
  await sim.send({ type: 'connect', dialKey: 'talk:1', agentId: a1 });
  clock.advanceBy(10_000);
  assert.equal(sim.agentState(a1), 'talking');
  await sim.send({ type: 'cancel', dialKey: 'ring:1' });
  await sim.send({ type: 'cancel', dialKey: 'wait:1' });
  await sim.send({ type: 'cancel', dialKey: 'talk:1' });
  await sim.send({ type: 'cancel', dialKey: 'never-sent:1' });
  await sim.send({ type: 'reserve_agent', dialKey: 'held:1', tenant: 'acme', queue: 'sales' });
  clock.advanceBy(0);
  assert.equal(sim.agentsHeld(), 1);
  await sim.send({ type: 'cancel', dialKey: 'held:1' });
  await sim.send({ type: 'cancel', dialKey: 'held:1' });
  clock.advanceBy(0);
  assert.equal(sim.agentsHeld(), 0, 'cancel frees the agent held for the attempt');
  assert.equal(sim.agentState(a1), 'wrap_up', 'hung up: the agent of the connected call wraps up');
  clock.runUntilIdle();
  assert.deepEqual(eventsOf(events, 'ring:1'), [], 'stopped while ringing: no no_answer at 30 s, nothing');
  assert.deepEqual(
    eventsOf(events, 'wait:1').map((e) => e.type),
    ['answered'],
    'no call_ended for the hang-up',
  );
  assert.deepEqual(
    eventsOf(events, 'talk:1').map((e) => e.type),
    ['answered', 'connected'],
    'no call_ended for the hang-up',
  );
  assert.deepEqual(
    eventsOf(events, 'held:1').map((e) => e.type),
    ['agent_reserved'],
  );
  assert.equal(sim.agentState(a1), 'free', 'back after wrap-up');
  assert.equal(sim.availableAgents('acme', 'sales'), 3);
  assert.equal(sim.snapshot().activeCalls, 0);
  assert.equal(sim.queueStats('acme', 'sales')!.completedCalls, 1);

  // The key is spent: a dial that comes after the cancel (a late or re-sent command) calls nobody.
  const placed = sim.dialsPlaced();
  await sim.send({ type: 'dial', dialKey: 'held:1', tenant: 'acme', queue: 'sales', phone: '+14155550003' });
  await sim.send({ type: 'dial', dialKey: 'ring:1', tenant: 'acme', queue: 'sales', phone: '+14155550000' });
  await sim.send({ type: 'reserve_agent', dialKey: 'wait:1', tenant: 'acme', queue: 'sales' });
  clock.runUntilIdle();
  assert.equal(sim.dialsPlaced(), placed, 'nobody called for a cancelled attempt');
  assert.deepEqual(
    eventsOf(events, 'held:1').map((e) => e.type),
    ['agent_reserved', 'failed'],
  );
  assert.deepEqual(
    eventsOf(events, 'ring:1').map((e) => e.type),
    ['failed'],
  );
  assert.deepEqual(
    eventsOf(events, 'wait:1').map((e) => e.type),
    ['answered', 'failed'],
    'a late reserve holds nobody',
  );
  assert.equal(sim.agentsHeld(), 0);
});

test('an answered customer nobody connects hangs up after the patience; agent-first dials need a held or free agent, which stays held until released', async () => {
  const { clock, sim, events } = setup(17, {
    customers: NO_FAILURES,
    timeToAnswerSec: { mean: 4, sd: 0 },
    customerPatienceSec: 20,
    perNumber: (phone) => (phone.endsWith('0000') ? { busy: 1 } : undefined),
  });
  await sim.start();
  clock.advanceBy(0);
  const [a1, a2, a3] = sim.agentIds('acme', 'sales') as [string, string, string];
  await sim.send({ type: 'dial', dialKey: 'afbusy:1', tenant: 'acme', queue: 'sales', phone: '+14155550000', agentId: a3 });
  clock.advanceBy(0);
  assert.equal(sim.agentState(a3), 'reserved', 'an agent-first dial takes a free agent');
  clock.advanceBy(5000);
  assert.deepEqual(
    eventsOf(events, 'afbusy:1').map((e) => e.type),
    ['busy'],
  );
  assert.equal(sim.agentState(a3), 'reserved', 'the attempt failed: its agent stays held until GES releases it');
  assert.equal(sim.agentsHeld(), 1);
  await sim.send({ type: 'release_agent', dialKey: 'afbusy:1', agentId: a3 });
  clock.advanceBy(0);
  assert.equal(sim.agentState(a3), 'free', 'release_agent frees it');
  const t0 = clock.now();
  await sim.send({ type: 'dial', dialKey: 'alone:1', tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  await sim.send({ type: 'reserve_agent', dialKey: 'af:1', tenant: 'acme', queue: 'sales' });
  await sim.send({ type: 'dial', dialKey: 'af:1', tenant: 'acme', queue: 'sales', phone: '+14155550101', agentId: a1 });
  await sim.send({ type: 'dial', dialKey: 'stolen:1', tenant: 'acme', queue: 'sales', phone: '+14155550102', agentId: a1 });
  await sim.send({ type: 'dial', dialKey: 'ghost:1', tenant: 'acme', queue: 'sales', phone: '+14155550103', agentId: 'nobody' });
  await sim.send({ type: 'dial', dialKey: 'where:1', tenant: 'acme', queue: 'nowhere', phone: '+14155550104' });
  clock.advanceBy(25_000); // af:1 answered at 4 s, hung up at 24 s

  assert.deepEqual(
    eventsOf(events, 'alone:1').map((e) => [e.type, e.at - t0]),
    [
      ['answered', 4000],
      ['call_ended', 24_000],
    ],
  );
  assert.deepEqual(
    eventsOf(events, 'stolen:1').map((e) => e.type),
    ['failed'],
    'a1 is held for af:1',
  );
  assert.deepEqual(
    eventsOf(events, 'ghost:1').map((e) => e.type),
    ['failed'],
  );
  assert.deepEqual(
    eventsOf(events, 'where:1').map((e) => e.type),
    ['failed'],
  );
  assert.deepEqual(sim.ledger.get('stolen:1'), { received: 1, dialed: false });
  assert.equal(sim.dialsPlaced(), 3);
  // af:1 was answered and never connected: the attempt ended, its agent waits for the release.
  assert.deepEqual(
    eventsOf(events, 'af:1').map((e) => e.type),
    ['agent_reserved', 'answered', 'call_ended'],
  );
  assert.equal(sim.agentState(a1), 'reserved');
  assert.equal(sim.holdsExpired(), 0);
  // GES never releases it here: the safety net frees it 600 s after its call ended, and counts it.
  clock.advanceBy(600_000 - 1_001);
  assert.equal(sim.agentState(a1), 'reserved');
  clock.advanceBy(1);
  assert.equal(sim.agentState(a1), 'free');
  assert.equal(sim.holdsExpired(), 1, 'a leaked hold is seen');
  await sim.send({ type: 'reserve_agent', dialKey: 'af:1', tenant: 'acme', queue: 'sales' });
  await sim.send({ type: 'connect', dialKey: 'alone:1', agentId: a2 });
  clock.runUntilIdle();
  assert.deepEqual(
    eventsOf(events, 'af:1')
      .slice(3)
      .map((e) => e.type),
    ['call_ended'],
    'an attempt that is over gets no agent, but its end again',
  );
  assert.deepEqual(
    eventsOf(events, 'alone:1')
      .slice(2)
      .map((e) => e.type),
    ['call_ended'],
    'too late to connect: told the call ended',
  );
  assert.equal(sim.availableAgents('acme', 'sales'), 3);
  assert.equal(sim.queueStats('acme', 'sales')!.abandoned, 2);
  assert.equal(sim.queueStats('acme', 'sales')!.outcomes.busy, 1);
});

test('events are never delivered inside send, only when the clock moves', async () => {
  const { clock, sim, events } = setup(19, { customers: NO_FAILURES, commandLatencyMs: 0 });
  await sim.start();
  assert.equal(events.length, 0, 'start announces agents on the clock too');
  clock.advanceBy(0);
  assert.equal(events.filter((e) => e.type === 'agent_ready').length, 3);
  let inSend = false;
  sim.onEvent(() => assert.equal(inSend, false, 'event delivered inside send'));
  const before = events.length;
  inSend = true;
  const sent = sim.send({ type: 'reserve_agent', dialKey: 'x:1', tenant: 'acme', queue: 'sales' });
  const sent2 = sim.send({ type: 'dial', dialKey: 'x:1', tenant: 'acme', queue: 'nowhere', phone: '+14155550100' });
  inSend = false;
  await sent;
  await sent2;
  assert.equal(events.length, before, 'not even after the promise resolved');
  clock.advanceBy(0);
  assert.deepEqual(
    events.slice(before).map((e) => e.type),
    ['agent_not_ready', 'agent_reserved', 'failed'],
  );
  await assert.rejects(sim.send({ type: 'connect', dialKey: 'x:1', agentId: '' } as unknown as VoiceCommand), TypeError);
  // One validator, the contract's: what the Redis-stream adapter would refuse to send, the simulator refuses too.
  await assert.rejects(sim.send({ type: 'dial', dialKey: 'x:2', tenant: 'acme', queue: 'sales', phone: '' }), /\/phone must not have fewer than 1/);
  await assert.rejects(sim.send({ type: 'hang_up', dialKey: 'x:1' } as unknown as VoiceCommand), /unknown type/);
});

test('start and stop are idempotent; nothing is delivered after stop', async () => {
  const { clock, sim, events } = setup(23, { customers: NO_FAILURES });
  await sim.start();
  await sim.start();
  clock.advanceBy(0);
  assert.equal(events.length, 3, 'one agent_ready per agent, once');
  await sim.send({ type: 'dial', dialKey: 'a:1', tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  await sim.stop();
  await sim.stop();
  assert.equal(sim.availableAgents('acme', 'sales'), 0, 'logged out');
  clock.runUntilIdle();
  assert.equal(events.length, 3);
  assert.equal(clock.pending(), 0, 'stop withdrew its timers');
  await assert.rejects(sim.send({ type: 'cancel', dialKey: 'a:1' }), /not running/);
  await sim.start();
  clock.advanceBy(0);
  assert.equal(sim.availableAgents('acme', 'sales'), 3);
  await sim.send({ type: 'dial', dialKey: 'a:1', tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  assert.equal(sim.duplicateDials(), 1, 'a dial key stays spent across a restart');

  // Stopped from inside a handler, halfway through a step: the step ends silently, nothing lingers.
  const [a1] = sim.agentIds('acme', 'sales') as [string];
  await sim.send({ type: 'dial', dialKey: 'b:1', tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  clock.runUntilIdle(30_000); // answered by now (the ring timeout), still waiting (60 s patience)
  await sim.send({ type: 'connect', dialKey: 'b:1', agentId: a1 });
  const off = sim.onEvent((e) => {
    if (e.type === 'call_ended') void sim.stop();
  });
  const before = events.length;
  clock.runUntilIdle();
  off();
  assert.deepEqual(
    events.slice(before).map((e) => e.type),
    ['agent_not_ready', 'connected', 'call_ended'],
    'no agent_ready after the stop',
  );
  assert.equal(clock.pending(), 0, 'the wrap-up timer scheduled after the stop was withdrawn');
  await sim.start();
  clock.advanceBy(0);
  assert.equal(sim.availableAgents('acme', 'sales'), 3);
  assert.equal(sim.snapshot().queues['acme/sales']!.wrapUp, 0);
});

test('inbound calls are announced at their time; a throwing handler neither silences others nor corrupts state', async () => {
  const { clock, sim, events } = setup(29, {
    inboundCalls: [{ atMs: DAY_START + 60_000, tenant: 'acme', toNumber: '+18005550100', fromNumber: '+14155550199', digits: '2' }],
  });
  let throwOnce = true;
  sim.onEvent(() => {
    if (throwOnce) {
      throwOnce = false;
      throw new Error('handler bug');
    }
  });
  await sim.start();
  assert.throws(() => clock.advanceBy(0), /handler bug/);
  assert.equal(events.filter((e) => e.type === 'agent_ready').length, 3, 'the other handler got every event');
  clock.advanceTo(DAY_START + 60_000);
  assert.deepEqual(events.at(-1), {
    type: 'inbound_call',
    callId: 'inbound-1',
    tenant: 'acme',
    toNumber: '+18005550100',
    fromNumber: '+14155550199',
    digits: '2',
    at: DAY_START + 60_000,
  });
  assert.equal(sim.availableAgents('acme', 'sales'), 3);
});

test('property: under random commands agents stay within [0, configured], events agree with the state, nothing leaks', () => {
  const queues = {
    't1/q1': { agents: 2, handleTimeSec: { mean: 30, sd: 10 }, wrapUpSec: 5 },
    't1/q2': { agents: 1, handleTimeSec: { mean: 20, sd: 0 } },
  };
  const keys = ['k0:1', 'k1:1', 'k2:1', 'k3:1', 'k4:1'];
  const agentIds = ['t1/q1/agent-1', 't1/q1/agent-2', 't1/q2/agent-1', 'bogus'];
  const queueArb = fc.constantFrom(['t1', 'q1'], ['t1', 'q2'], ['t1', 'zz']);
  const step = fc.oneof(
    fc.record({
      type: fc.constant('dial' as const),
      dialKey: fc.constantFrom(...keys),
      q: queueArb,
      phone: fc.constantFrom('+14155550100', '+14155550000'),
      agentId: fc.option(fc.constantFrom(...agentIds), { nil: undefined }),
    }),
    fc.record({ type: fc.constant('reserve_agent' as const), dialKey: fc.constantFrom(...keys), q: queueArb }),
    fc.record({ type: fc.constant('connect' as const), dialKey: fc.constantFrom(...keys), agentId: fc.constantFrom(...agentIds) }),
    fc.record({ type: fc.constant('release_agent' as const), dialKey: fc.constantFrom(...keys), agentId: fc.constantFrom(...agentIds) }),
    fc.record({ type: fc.constant('cancel' as const), dialKey: fc.constantFrom(...keys) }),
    fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  );

  fc.assert(
    fc.property(fc.integer(), fc.array(step, { maxLength: 60 }), (seed, steps) => {
      const clock = new SimClock(DAY_START);
      const sim = new ContactCenterSimulator({
        seed,
        clock,
        queues,
        timeToAnswerSec: { mean: 6, sd: 3 },
        perNumber: (p) => (p.endsWith('0000') ? { answer: 0.3, busy: 0.7 } : undefined),
      });
      // Each agent's readiness as told by the events alone.
      const ready = new Map<string, boolean>();
      const dialsSent = new Map<string, number>();
      let inSend = false;
      sim.onEvent((e) => {
        assert.equal(inSend, false);
        if (e.type === 'agent_ready' || e.type === 'agent_not_ready') {
          const now = e.type === 'agent_ready';
          assert.notEqual(ready.get(e.agentId), now, `${e.agentId} reported ${e.type} twice in a row`);
          ready.set(e.agentId, now);
        }
      });
      const send = (c: VoiceCommand) => {
        inSend = true;
        void sim.send(c);
        inSend = false;
      };
      const check = () => {
        const snap = sim.snapshot();
        for (const [key, q] of Object.entries(queues)) {
          const s = snap.queues[key]!;
          const [tenant, queue] = key.split('/') as [string, string];
          const free = sim.availableAgents(tenant, queue);
          assert.ok(free >= 0 && free <= q.agents, `${key}: ${free} free of ${q.agents}`);
          assert.equal(s.free + s.reserved + s.talking + s.wrapUp, q.agents);
          const told = sim.agentIds(tenant, queue).filter((id) => ready.get(id) === true).length;
          assert.equal(told, free, `${key}: events say ${told} free, simulator ${free}`);
        }
        for (const [key, entry] of sim.ledger.entries()) assert.equal(entry.received, dialsSent.get(key));
      };
      void sim.start();
      clock.advanceBy(0);
      for (const s of steps) {
        if (s.type === 'advance') {
          clock.advanceBy(s.ms);
          check();
          continue;
        }
        if (s.type === 'dial') {
          dialsSent.set(s.dialKey, (dialsSent.get(s.dialKey) ?? 0) + 1);
          send({ type: 'dial', dialKey: s.dialKey, tenant: s.q[0], queue: s.q[1], phone: s.phone, ...(s.agentId === undefined ? {} : { agentId: s.agentId }) });
        } else if (s.type === 'reserve_agent') send({ type: 'reserve_agent', dialKey: s.dialKey, tenant: s.q[0], queue: s.q[1] });
        else send(s);
      }
      clock.advanceBy(0);
      check();
      assert.equal(sim.dialsPlaced() + [...sim.ledger.entries()].filter(([, e]) => !e.dialed).length, sim.ledger.size);
      // Abandon every attempt: every agent must come back.
      for (const k of keys) send({ type: 'cancel', dialKey: k });
      clock.runUntilIdle();
      check();
      assert.equal(sim.availableAgents('t1', 'q1'), 2);
      assert.equal(sim.availableAgents('t1', 'q2'), 1);
      assert.equal(sim.snapshot().activeCalls, 0);
    }),
    { numRuns: 300, seed: 20300107 },
  );
});

test('a simulated 8-hour day, 3 queues, ~900 callbacks, runs in well under a few seconds', () => {
  const started = performance.now();
  const { clock, sim, events, engine, requested } = runDay('day', { calls: 900, hours: 8 });
  const elapsedMs = performance.now() - started;

  assert.ok(clock.now() - DAY_START >= 8 * HOUR, 'a whole day went by');
  assert.ok(requested.length > 800 && requested.length < 1000, `${requested.length} requests`);
  assert.equal(sim.dialsPlaced(), requested.length, 'every request dialed once');
  assert.equal(sim.duplicateDials(), 0);
  for (const k of requested) assert.ok(engine.finished.has(k), `${k} never finished`);
  const snap = sim.snapshot();
  assert.equal(snap.activeCalls, 0);
  assert.equal(snap.agentsHeld, 0, 'no agent is left held');
  assert.equal(snap.holdsExpired, 0, 'every agent held for an attempt that ended unconnected was released, none by the safety net');
  for (const [key, q] of Object.entries(DAY_QUEUES)) {
    assert.equal(snap.queues[key]!.free, q.agents, `${key}: every agent free at the end`);
    assert.ok(snap.queues[key]!.stats.completedCalls > 0);
  }
  const connected = events.filter((e) => e.type === 'connected').length;
  assert.ok(connected > 500, `${connected} connected calls`);
  assert.ok(elapsedMs < 3000, `took ${elapsedMs.toFixed(0)} ms`);
  console.log(`# 8-hour day: ${requested.length} callbacks, ${connected} connected, ${events.length} events in ${elapsedMs.toFixed(0)} ms`);
});

// ---- route_inbound (Click-To-Call-In) ----------------------------------------------------------

/** One agent with a fixed 60 s handle time and 5 s wrap-up; three inbound calls a minute apart. */
function inboundSetup(seed: number, patienceSec = 90) {
  return setup(seed, {
    queues: { 'acme/sales': { agents: 1, handleTimeSec: { mean: 60, sd: 0 }, wrapUpSec: 5 } },
    customerPatienceSec: patienceSec,
    inboundCalls: [1, 2, 3].map((m) => ({ atMs: DAY_START + m * 60_000, tenant: 'acme', toNumber: '+18005550100', fromNumber: '+14155550199' })),
  });
}

const route = (callId: string, queue?: string, userData?: Record<string, unknown>): VoiceCommand => ({
  type: 'route_inbound',
  dialKey: `in:${callId}`,
  callId,
  tenant: 'acme',
  ...(queue ? { queue } : {}),
  ...(userData ? { userData } : {}),
});

test('route_inbound: a free agent takes the call (connected, then call_ended with the handle time, then wrap-up)', async () => {
  const { clock, sim, events } = inboundSetup(41);
  await sim.start();
  clock.advanceTo(DAY_START + 60_000);
  assert.equal(events.at(-1)!.type, 'inbound_call');
  await sim.send(route('inbound-1', 'sales', { orderId: 'A-1' }));
  await sim.send(route('inbound-1', 'sales', { orderId: 'A-1' })); // a repeat is ignored
  clock.advanceBy(0);
  const agent = sim.agentIds('acme', 'sales')[0]!;
  assert.deepEqual(eventsOf(events, 'in:inbound-1'), [{ type: 'connected', dialKey: 'in:inbound-1', agentId: agent, at: DAY_START + 60_000 }]);
  assert.equal(sim.agentState(agent), 'talking');
  assert.equal(sim.snapshot().activeCalls, 1);
  clock.advanceTo(DAY_START + 120_000 - 1);
  assert.equal(eventsOf(events, 'in:inbound-1').length, 1);
  clock.advanceBy(1);
  assert.deepEqual(eventsOf(events, 'in:inbound-1').at(-1), { type: 'call_ended', dialKey: 'in:inbound-1', at: DAY_START + 120_000, talkSeconds: 60 });
  assert.equal(sim.agentState(agent), 'wrap_up');
  clock.advanceBy(5_000);
  assert.equal(sim.agentState(agent), 'free');
  const stats = sim.queueStats('acme', 'sales')!;
  assert.deepEqual([stats.dials, stats.connected, stats.completedCalls, stats.meanHandleSec], [0, 1, 1, 65], 'an inbound call is no dial');
  assert.equal(sim.snapshot().activeCalls, 0);
});

test('route_inbound: with no free agent the caller waits, gets the next free agent before any reserve, or hangs up after the patience', async () => {
  const { clock, sim, events } = inboundSetup(43, 90);
  // A subscriber that reserves the agent the moment it is announced ready, as an engine would.
  sim.onEvent((e) => {
    if (e.type === 'agent_ready' && e.at > DAY_START) fire(sim, { type: 'reserve_agent', dialKey: 'out:1', tenant: 'acme', queue: 'sales' });
  });
  await sim.start();
  clock.advanceTo(DAY_START + 60_000);
  await sim.send(route('inbound-1', 'sales'));
  clock.advanceTo(DAY_START + 120_000); // inbound-1 talks until 120 s, wraps up until 125 s
  await sim.send(route('inbound-2', 'sales'));
  clock.advanceTo(DAY_START + 180_000);
  await sim.send(route('inbound-3', 'sales'));
  clock.advanceBy(0);
  assert.deepEqual(
    eventsOf(events, 'in:inbound-2').map((e) => e.type),
    ['connected'],
    'inbound-2 got the agent at the end of the wrap-up',
  );
  assert.equal(eventsOf(events, 'in:inbound-2')[0]!.at, DAY_START + 125_000);
  assert.deepEqual(
    eventsOf(events, 'out:1').map((e) => e.type),
    ['no_agent'],
    'the waiting caller came first',
  );
  // inbound-2 talks until 185 s, wraps up until 190 s; inbound-3 (waiting since 180 s) then gets the agent.
  clock.advanceTo(DAY_START + 190_000);
  assert.deepEqual(
    eventsOf(events, 'in:inbound-3').map((e) => [e.type, e.at]),
    [['connected', DAY_START + 190_000]],
  );

  // A caller whose patience runs out first: one agent kept busy by a 10-minute call.
  const slow = setup(44, {
    queues: { 'acme/sales': { agents: 1, handleTimeSec: { mean: 600, sd: 0 } } },
    customerPatienceSec: 30,
    inboundCalls: [
      { atMs: DAY_START + 1_000, tenant: 'acme', toNumber: '+18005550100', fromNumber: '+1' },
      { atMs: DAY_START + 2_000, tenant: 'acme', toNumber: '+18005550100', fromNumber: '+2' },
    ],
  });
  await slow.sim.start();
  slow.clock.advanceTo(DAY_START + 2_000);
  await slow.sim.send(route('inbound-1', 'sales'));
  await slow.sim.send(route('inbound-2', 'sales'));
  slow.clock.advanceTo(DAY_START + 32_000);
  assert.deepEqual(eventsOf(slow.events, 'in:inbound-2'), [{ type: 'call_ended', dialKey: 'in:inbound-2', at: DAY_START + 32_000, talkSeconds: 0 }]);
  assert.equal(slow.sim.queueStats('acme', 'sales')!.abandoned, 1);
  slow.clock.runUntilIdle();
  assert.deepEqual(eventsOf(slow.events, 'in:inbound-2').length, 1, 'nothing more for the caller who left');
  assert.equal(slow.sim.availableAgents('acme', 'sales'), 1);
});

test('route_inbound: no queue ends the call at once; unknown queue or call fails; cancel takes a waiting caller out; malformed ones are refused', async () => {
  const { clock, sim, events } = inboundSetup(47);
  await sim.start();
  clock.advanceTo(DAY_START + 180_000);
  await sim.send(route('inbound-1'));
  await sim.send(route('inbound-2', 'nowhere'));
  await sim.send(route('inbound-9', 'sales'));
  clock.advanceBy(0);
  assert.deepEqual(eventsOf(events, 'in:inbound-1'), [{ type: 'call_ended', dialKey: 'in:inbound-1', at: DAY_START + 180_000, talkSeconds: 0 }]);
  assert.deepEqual(
    eventsOf(events, 'in:inbound-2').map((e) => e.type),
    ['failed'],
  );
  assert.deepEqual(
    eventsOf(events, 'in:inbound-9').map((e) => e.type),
    ['failed'],
    'never announced',
  );
  assert.equal(sim.availableAgents('acme', 'sales'), 1, 'none of these took the agent');

  // inbound-3 takes the agent; a cancel of it hangs up (no event), and the agent comes back after wrap-up.
  await sim.send(route('inbound-3', 'sales'));
  clock.advanceBy(10_000);
  await sim.send({ type: 'cancel', dialKey: 'in:inbound-3' });
  clock.advanceBy(0);
  assert.deepEqual(
    eventsOf(events, 'in:inbound-3').map((e) => e.type),
    ['connected'],
  );
  clock.runUntilIdle();
  assert.equal(sim.availableAgents('acme', 'sales'), 1);
  assert.equal(sim.snapshot().activeCalls, 0);

  for (const [command, message] of [
    [{ type: 'route_inbound', dialKey: 'in:x', tenant: 'acme' }, /required properties callId/],
    [{ type: 'route_inbound', dialKey: 'x', callId: 'inbound-1', tenant: 'acme' }, /dialKey must be "in:" followed by callId/],
    [{ type: 'route_inbound', dialKey: 'in:inbound-1', callId: 'inbound-1', tenant: 'acme', queue: '' }, /\/queue must not have fewer than 1/],
    [{ type: 'route_inbound', dialKey: 'in:inbound-1', callId: 'inbound-1', tenant: 'acme', userData: [1] }, /\/userData must be object/],
  ] as const) {
    await assert.rejects(sim.send(command as unknown as VoiceCommand), message);
  }
});

test('route_inbound: a caller waiting in line is taken out by cancel and never connected later', async () => {
  const { clock, sim, events } = inboundSetup(53);
  await sim.start();
  clock.advanceTo(DAY_START + 120_000);
  await sim.send(route('inbound-1', 'sales'));
  await sim.send(route('inbound-2', 'sales'));
  clock.advanceBy(1_000);
  await sim.send({ type: 'cancel', dialKey: 'in:inbound-2' });
  clock.runUntilIdle();
  assert.deepEqual(eventsOf(events, 'in:inbound-2'), [], 'taken out without an event');
  assert.deepEqual(
    eventsOf(events, 'in:inbound-1').map((e) => e.type),
    ['connected', 'call_ended'],
  );
  assert.equal(sim.availableAgents('acme', 'sales'), 1);
});

// ---- restarts (contract: "A platform restarts") ----------------------------------------------

test('calls a stop cut off are reported at the next start (failed platform_restart, or call_ended if connected), never dialed again', async () => {
  const { clock, sim, events } = setup(59, { customers: NO_FAILURES, timeToAnswerSec: { mean: 5, sd: 0 }, customerPatienceSec: 600 });
  await sim.start();
  clock.advanceBy(0);
  const [a1] = sim.agentIds('acme', 'sales') as [string];
  const dial = (dialKey: string): VoiceCommand => ({ type: 'dial', dialKey, tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  await sim.send(dial('talk:1'));
  clock.advanceBy(6_000);
  await sim.send({ type: 'connect', dialKey: 'talk:1', agentId: a1 });
  clock.advanceBy(4_000);
  await sim.send(dial('ring:1'));
  clock.advanceBy(1_000);
  await sim.stop();
  clock.advanceBy(60_000);
  await sim.start();
  clock.advanceBy(0);
  const restartedAt = clock.now();
  assert.deepEqual(eventsOf(events, 'ring:1'), [{ type: 'failed', dialKey: 'ring:1', at: restartedAt, reason: 'platform_restart' }]);
  const talk = eventsOf(events, 'talk:1').at(-1)!;
  assert.ok(talk.type === 'call_ended' && talk.talkSeconds >= 5, 'a connected call is reported ended with its talk, so the callback completes');
  await sim.send(dial('ring:1'));
  await sim.send({ type: 'reserve_agent', dialKey: 'ring:1', tenant: 'acme', queue: 'sales' });
  clock.runUntilIdle();
  assert.deepEqual(
    eventsOf(events, 'ring:1').slice(1),
    [eventsOf(events, 'ring:1')[0], eventsOf(events, 'ring:1')[0]],
    'a repeat is told the same, and holds nobody',
  );
  assert.equal(sim.dialsPlaced(), 2, 'never a second dial');
  assert.equal(sim.agentsHeld(), 0);
});

test('a simulator resumed from the ledger changes of an earlier run keeps its keys spent and reports its calls in flight', async () => {
  const changes: LedgerChange[] = [];
  const first = setup(61, { customers: NO_FAILURES, timeToAnswerSec: { mean: 5, sd: 0 }, onLedgerChange: (c) => changes.push(c) });
  await first.sim.start();
  const dial = (dialKey: string): VoiceCommand => ({ type: 'dial', dialKey, tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  await first.sim.send(dial('done:1'));
  first.clock.runUntilIdle();
  await first.sim.send(dial('ring:1'));
  first.clock.advanceBy(1_000);
  // The process dies here: no stop, only what was told through onLedgerChange survives.
  assert.deepEqual(
    changes.filter((c) => c.dialKey === 'ring:1').map((c) => c.kind),
    ['seen', 'placed'],
  );

  const resume = foldLedgerChanges(changes);
  const second = setup(62, { customers: NO_FAILURES, resume });
  await second.sim.start();
  await second.sim.send(dial('ring:1'));
  await second.sim.send(dial('done:1'));
  await second.sim.send(dial('new:1'));
  second.clock.runUntilIdle();
  const ring = eventsOf(second.events, 'ring:1');
  assert.deepEqual(
    ring.map((e) => e.type === 'failed' && e.reason),
    ['platform_restart', 'platform_restart'],
  );
  assert.deepEqual(
    eventsOf(second.events, 'done:1').map((e) => e.type),
    ['call_ended'],
    'a finished call: its end again',
  );
  assert.equal(second.sim.ledger.get('ring:1')!.dialed, true);
  assert.equal(second.sim.dialsPlaced(), 3, 'two from the first run, one new key; nothing dialed twice');
});

test('a platform that lost its ledger refuses dials (failed, ledger_lost) for its quarantine, then dials new keys', async () => {
  const { clock, sim, events } = setup(67, { customers: NO_FAILURES, refuseDialsUntilMs: DAY_START + 60_000 });
  await sim.start();
  await sim.send({ type: 'dial', dialKey: 'old:1', tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  clock.advanceBy(0);
  assert.deepEqual(eventsOf(events, 'old:1'), [{ type: 'failed', dialKey: 'old:1', at: DAY_START, reason: 'ledger_lost' }]);
  assert.equal(sim.dialsPlaced(), 0);
  clock.advanceTo(DAY_START + 60_000);
  await sim.send({ type: 'dial', dialKey: 'old:1', tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  await sim.send({ type: 'dial', dialKey: 'old:2', tenant: 'acme', queue: 'sales', phone: '+14155550100' });
  clock.runUntilIdle();
  assert.deepEqual(
    eventsOf(events, 'old:1').map((e) => e.type),
    ['failed', 'failed'],
    'a key refused once stays refused',
  );
  assert.deepEqual(
    eventsOf(events, 'old:2').map((e) => e.type),
    ['answered', 'call_ended'],
  );
  assert.equal(sim.dialsPlaced(), 1);
});

test('machines: kept on the line with progress wait, a message is left once; without detection a machine is answered; leave_message elsewhere is failed, never machine', async () => {
  const machine = { answer: 0, busy: 0, noAnswer: 0, machine: 1, invalid: 0 };
  const { clock, sim, events } = setup(5, { customers: machine });
  await sim.start();
  const send = (command: VoiceCommand) => sim.send(command);
  await send({ type: 'dial', dialKey: 'm:1', tenant: 'acme', queue: 'sales', phone: '+14155550001', progress: { detect: true, onMachine: 'wait' } });
  await send({ type: 'dial', dialKey: 'm:2', tenant: 'acme', queue: 'sales', phone: '+14155550002', progress: { detect: false, onMachine: 'hang_up' } });
  await send({ type: 'dial', dialKey: 'm:3', tenant: 'acme', queue: 'sales', phone: '+14155550003' });
  clock.advanceBy(10_000);
  assert.deepEqual(
    eventsOf(events, 'm:1').map((e) => e.type),
    ['machine'],
  );
  assert.deepEqual(
    eventsOf(events, 'm:2').map((e) => e.type),
    ['answered'],
    'no detection: a person to the platform',
  );
  assert.deepEqual(
    eventsOf(events, 'm:3').map((e) => e.type),
    ['machine'],
    'no progress: contract 1, hung up',
  );
  await send({ type: 'leave_message', dialKey: 'm:1', message: { text: 'We called about your order.' } });
  await send({ type: 'leave_message', dialKey: 'm:1', message: { text: 'We called about your order.' } });
  await send({ type: 'leave_message', dialKey: 'm:3', message: { id: 'p-1' } });
  clock.advanceBy(20_000);
  assert.deepEqual(
    eventsOf(events, 'm:1').map((e) => e.type),
    ['machine', 'message_left'],
    'played once',
  );
  assert.deepEqual(
    eventsOf(events, 'm:3').map((e) => e.type),
    ['machine', 'failed'],
    'a machine already gone is never told as machine again',
  );
  await send({ type: 'leave_message', dialKey: 'm:1', message: { text: 'again' } });
  clock.advanceBy(1_000);
  assert.deepEqual(eventsOf(events, 'm:1').at(-1)?.type, 'message_left', 'a repeat after the end hears the end again');
  assert.deepEqual(sim.ledger.resultOf('m:1'), { outcome: 'machine', connected: false, messageLeft: true });
  assert.equal(sim.dialsPlaced(), 3);
});

test('the context of a key is kept, and what the connected agent saw is in the ledger', async () => {
  const { clock, sim, events } = setup(6, { customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 } });
  await sim.start();
  const context = { attachedData: { orderId: 'A-1', tier: 'gold' }, priority: 1, previewKeys: ['tier', 'missing'], language: 'de-DE' };
  await sim.send({ type: 'dial', dialKey: 'c:1', tenant: 'acme', queue: 'sales', phone: '+14155550010', context });
  while (!eventsOf(events, 'c:1').some((e) => e.type === 'answered')) clock.advanceBy(500);
  await sim.send({ type: 'connect', dialKey: 'c:1', agentId: 'acme/sales/agent-1', context });
  clock.advanceBy(1_000);
  assert.deepEqual(sim.contextOf('c:1'), context);
  const screen = sim.agentScreen('c:1');
  assert.equal(screen?.agentId, 'acme/sales/agent-1');
  assert.deepEqual(screen?.userData, { orderId: 'A-1', tier: 'gold' });
  assert.deepEqual(screen?.preview, [{ key: 'tier', value: 'gold' }]);
  assert.equal(screen?.language, 'de-DE');
  assert.equal(sim.agentScreen('nope:1'), undefined);
});
