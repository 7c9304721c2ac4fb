import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedEngine } from './support/simulated-engine.ts';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator, type ContactCenterSimulatorConfig } from '../src/voice/simulator/contact-center-simulator.ts';
import type { VoiceCommand, VoiceEvent, VoiceEventHandler, VoicePort } from '../src/voice/voice-port.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import * as store from '../src/store/callback-history.ts';

/**
 * Platform events that never reach GES (lost with a flushed Redis, for one) must not leave a
 * callback unfinished, nor call back a customer who already talked to an agent. A voice port that
 * drops chosen events stands between the engine and the simulated contact center; everything else
 * is real (Postgres, the engine, the simulator). The many-node version of this is
 * engine-multinode.test.ts, where the losses fall where the timing puts them.
 */

/** The simulator, minus the events `lose` picks (each dropped once per type and dial key). */
class LossyVoicePort implements VoicePort {
  readonly dropped: VoiceEvent[] = [];
  readonly sent: VoiceCommand[] = [];
  readonly #done = new Set<string>();
  constructor(
    private readonly sim: ContactCenterSimulator,
    private readonly lose: ReadonlySet<VoiceEvent['type']>,
  ) {}
  send(command: VoiceCommand): Promise<void> {
    this.sent.push(command);
    return this.sim.send(command);
  }
  onEvent(handler: VoiceEventHandler): () => void {
    return this.sim.onEvent((event) => {
      const once = 'dialKey' in event ? `${event.type} ${event.dialKey}` : '';
      if (once !== '' && this.lose.has(event.type) && !this.#done.has(once)) {
        this.#done.add(once);
        this.dropped.push(event);
        return undefined;
      }
      return handler(event);
    });
  }
  availableAgents(tenant: string, queue: string): number {
    return this.sim.availableAgents(tenant, queue);
  }
  start(): Promise<void> {
    return this.sim.start();
  }
  stop(): Promise<void> {
    return this.sim.stop();
  }
}

interface Setup {
  /** Simulator settings over the default (every customer answers). */
  sim?: Partial<ContactCenterSimulatorConfig>;
  /** Service options over the connect mode. */
  service?: Record<string, unknown>;
}

async function oneCallback(t: TestContext, first: 'CUSTOMER' | 'AGENT', lose: VoiceEvent['type'][], setup: Setup = {}) {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { firstConnectParty: first, ...setup.service } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 3,
    clock,
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { [`${tenant.name}/sales`]: { agents: 1, handleTimeSec: { mean: 120, sd: 10 } } },
    ...setup.sim,
  });
  const voice = new LossyVoicePort(sim, new Set(lose));
  const { engine, callbacks } = await startSimulatedEngine(t, db, voice, clock);
  const { id } = await callbacks.create({ id: tenant.id, name: tenant.name }, { serviceName: 'sales', phoneNumber: '+14155552001' });
  // Up to an hour of simulated time: several watchdog rounds.
  for (let s = 0; s < 3600; s += 5) {
    clock.advanceBy(5000);
    await engine.idle();
    db.clock.__test__pretendNow(clock.now());
    if ((await callbacks.retrieve({ id: tenant.id, name: tenant.name }, id)).state === 'COMPLETED') break;
  }
  const record = await callbacks.retrieve({ id: tenant.id, name: tenant.name }, id);
  const history = await store.listEvents(db.pool, tenant.id, id);
  return { record, history, voice, sim, dialKey: (attempt: number) => `${id}:${attempt}` };
}

/** Dial commands GES sent for one attempt (the first, then the watchdog's repeats). */
function dialsSent(voice: LossyVoicePort, dialKey: string): number {
  return voice.sent.filter((c) => c.type === 'dial' && c.dialKey === dialKey).length;
}

for (const first of ['CUSTOMER', 'AGENT'] as const) {
  test(`${first} first: a lost 'connected' does not hide the talk; call_ended with talk time completes AGENT_CONNECTED`, async (t) => {
    const { record, voice, sim } = await oneCallback(t, first, ['connected']);
    assert.deepEqual(
      voice.dropped.map((e) => e.type),
      ['connected'],
    );
    assert.equal(record.reason, 'AGENT_CONNECTED');
    assert.equal(record.attempt, 1, 'not called again');
    assert.equal(sim.dialsPlaced(), 1);
  });

  test(`${first} first: a lost 'call_ended' completes AGENT_CONNECTED when the talking attempt's watchdog fires`, async (t) => {
    const { record, history, voice, sim } = await oneCallback(t, first, ['call_ended']);
    assert.deepEqual(
      voice.dropped.map((e) => e.type),
      ['call_ended'],
    );
    assert.equal(record.reason, 'AGENT_CONNECTED');
    assert.equal(history.at(-1)!.detail, 'call end not reported');
    assert.equal(record.attempt, 1);
    assert.equal(sim.dialsPlaced(), 1);
  });

  test(`${first} first: 'connected' and 'call_ended' both lost: the re-sent connect is answered with the call's end`, async (t) => {
    const { record, voice, sim } = await oneCallback(t, first, ['connected', 'call_ended']);
    assert.deepEqual(
      voice.dropped.map((e) => e.type),
      ['connected', 'call_ended'],
    );
    assert.ok(voice.sent.filter((c) => c.type === 'connect').length >= 2, 'the watchdog re-sent connect');
    assert.equal(record.reason, 'AGENT_CONNECTED');
    assert.equal(record.attempt, 1, 'a customer who talked to an agent is not called again');
    assert.equal(sim.dialsPlaced(), 1);
  });

  // The customer waits on the line longer than the dialing watchdog (180 s here), so the repeated
  // dial finds them there; a customer who hangs up first is reported by call_ended anyway.
  test(`${first} first: a lost 'answered' is told again on the watchdog's repeated dial; the waiting customer reaches an agent`, async (t) => {
    const { record, history, voice, sim, dialKey } = await oneCallback(t, first, ['answered'], { sim: { customerPatienceSec: 900 } });
    assert.deepEqual(
      voice.dropped.map((e) => e.type),
      ['answered'],
    );
    assert.equal(record.reason, 'AGENT_CONNECTED');
    assert.equal(record.attempt, 1, 'the customer who answered is not hung up on and called again');
    assert.ok(
      history.some((e) => e.attempt === 1 && e.detail === 'answered'),
      'attempt 1 went on from the re-sent answer',
    );
    assert.equal(dialsSent(voice, dialKey(1)), 2, 'one repeat of the dial was enough');
    assert.ok(!voice.sent.some((c) => c.type === 'cancel'), 'never given up');
    assert.equal(sim.dialsPlaced(), 1);
    assert.deepEqual(sim.ledger.get(dialKey(1)), { received: 2, dialed: true });
    assert.equal(sim.ledger.replays, 1);
    assert.deepEqual(sim.ledger.resultOf(dialKey(1)), { outcome: 'answered', connected: true });
  });

  test(`${first} first: a lost 'busy' is told again on the repeated dial; the retry policy goes on as for any busy line`, async (t) => {
    const { record, history, voice, sim, dialKey } = await oneCallback(t, first, ['busy'], {
      sim: { customers: { answer: 0, busy: 1, noAnswer: 0, machine: 0, invalid: 0 } },
      service: { retry: { busy: { maxAttempts: 2, delaySec: 60 } } },
    });
    assert.deepEqual(
      voice.dropped.map((e) => e.type),
      ['busy', 'busy'],
      'the first busy of each attempt was lost',
    );
    assert.equal(record.reason, 'FAIL_CALL_TO_CUSTOMER');
    assert.equal(record.attempt, 2);
    const attempts = [...new Set(history.filter((e) => e.attempt > 0).map((e) => e.attempt))];
    assert.deepEqual(attempts, [1, 2], 'attempt numbers run on without a gap');
    assert.ok(
      history.some((e) => e.attempt === 1 && e.detail === 'busy'),
      'attempt 1 ended busy, not as a platform failure',
    );
    assert.ok(!history.some((e) => e.detail === 'failed'));
    assert.equal(dialsSent(voice, dialKey(1)), 2, 'one repeat of each dial was enough');
    assert.equal(dialsSent(voice, dialKey(2)), 2);
    assert.equal(sim.dialsPlaced(), 2);
    assert.deepEqual(sim.ledger.get(dialKey(1)), { received: 2, dialed: true });
    assert.deepEqual(sim.ledger.get(dialKey(2)), { received: 2, dialed: true });
    assert.equal(sim.ledger.replays, 2);
  });
}
