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
import * as store from '../src/store/callback-store.ts';

/**
 * Rules of an attempt that involve the clock and the platform together, on Postgres, the engine
 * and the simulated contact center: retry pauses under clock skew, what a `no_agent` answer
 * costs, who gives back an agent held for an attempt that failed, and what a cancel does.
 */

/** The simulator behind a port that records the commands and lets a test answer in the platform's place. */
class RecordingPort implements VoicePort {
  readonly sent: VoiceCommand[] = [];
  /** Commands of these types are recorded but not passed on: the test answers them. */
  readonly #withheld: ReadonlySet<VoiceCommand['type']>;
  readonly #handlers = new Set<VoiceEventHandler>();
  /** Free agents reported by presence, when the test overrides the simulator's. */
  presence: number | undefined;
  constructor(readonly sim: ContactCenterSimulator, withheld: VoiceCommand['type'][] = []) {
    this.#withheld = new Set(withheld);
  }
  send(command: VoiceCommand): Promise<void> {
    this.sent.push(command);
    return this.#withheld.has(command.type) ? Promise.resolve() : this.sim.send(command);
  }
  onEvent(handler: VoiceEventHandler): () => void {
    this.#handlers.add(handler);
    const off = this.sim.onEvent(handler);
    return () => {
      this.#handlers.delete(handler);
      off();
    };
  }
  /** Delivers an event as if the platform had sent it. */
  async emit(event: VoiceEvent): Promise<void> {
    for (const h of this.#handlers) await h(event);
  }
  availableAgents(tenant: string, queue: string): number {
    return this.presence ?? this.sim.availableAgents(tenant, queue);
  }
  start(): Promise<void> {
    return this.sim.start();
  }
  stop(): Promise<void> {
    return this.sim.stop();
  }
}

interface Setup {
  first?: 'CUSTOMER' | 'AGENT';
  sim?: Partial<ContactCenterSimulatorConfig>;
  service?: Record<string, unknown>;
  /** How far this node's clock runs ahead of the database's (ms). */
  skewMs?: number;
  withheld?: VoiceCommand['type'][];
  agents?: number;
}

async function contactCenter(t: TestContext, setup: Setup = {}) {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { firstConnectParty: setup.first ?? 'CUSTOMER', ...setup.service } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 7, clock, customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
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
  const engine = new CallbackEngine({ db: db.pool, hot: new MemoryHotState(), voice, clock: engineClock, logger: createLogger('silent'), pollMs: 1000, watchdogCapSec: 600 });
  db.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => { throw err; });
  await voice.start();
  await engine.start();
  t.after(async () => {
    await engine.stop();
    await voice.stop();
  });
  const who = { id: tenant.id, name: tenant.name };
  return {
    db, clock, sim, voice, engine, callbacks, who,
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
