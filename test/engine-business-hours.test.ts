import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import type { ContactCenterSimulatorConfig } from '../src/voice/simulator/simulator-config.ts';
import type { VoiceCommand, VoiceEvent, VoiceEventHandler, VoicePort } from '../src/voice/voice-port.ts';
import { createLogger } from '../src/logging/logger.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import { upsertBusinessHours } from '../src/store/calendar-store.ts';
import { upsertService } from '../src/store/service-store.ts';
import { engineRows } from '../src/store/engine-transition-store.ts';
import { parseServiceOptions, type ServiceOptions } from '../src/domain/service-options.ts';

/**
 * "A callback is never dialed outside business hours" (docs/ENGINE.md, "Business hours at dial
 * time"): callbacks that are already waiting when the office closes, or whose retry comes due just
 * before closing, are held until the next opening and dialed then.
 *
 * The platform is the simulator; the port in front of it can hide its free agents, which stands
 * for every agent being busy until after closing, so that callbacks queued while open are still
 * waiting when the office closes.
 */

/**
 * Durable timestamps come from the database's own clock, so the simulated day starts now: the
 * office's hours are set around the present instead. Kolkata (UTC+05:30) shows that they are read
 * in their zone; the DST cases are in calendar-properties and the dial-window unit tests.
 */
const ZONE = 'Asia/Kolkata';
const ZONE_OFFSET_MS = 330 * 60_000;
const HOUR = 3_600_000;

/** Every day open for two hours that end `closeInMs` from now (rounded up to the minute); the next opening is 22 h after closing. */
function hoursClosingIn(closeInMs: number) {
  const closeMs = Math.ceil((Date.now() + closeInMs) / 60_000) * 60_000;
  const wall = (ms: number) => new Date(ms + ZONE_OFFSET_MS).toISOString().slice(11, 16);
  const range = `${wall(closeMs - 2 * HOUR)}-${wall(closeMs)}`.replace(/-00:00$/, '-24:00');
  const days = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [range]]));
  return { closeMs, openMs: closeMs + 22 * HOUR, doc: { name: 'office', timeZone: ZONE, weekly: days } };
}

class HidingPort implements VoicePort {
  /** Dial commands, with the simulated time they were sent at. */
  readonly dials: { atMs: number; command: VoiceCommand }[] = [];
  /** Every command sent. */
  readonly sent: VoiceCommand[] = [];
  /** While true the engine sees no free agent. */
  agentsAway = false;
  /** While true agent_reserved events are kept back (delivered by `deliverReservations`). */
  holdReservations = false;
  readonly #kept: VoiceEvent[] = [];
  #handler: VoiceEventHandler | undefined;
  constructor(
    private readonly sim: ContactCenterSimulator,
    private readonly clock: SimClock,
  ) {}
  send(command: VoiceCommand): Promise<void> {
    this.sent.push(command);
    if (command.type === 'dial') this.dials.push({ atMs: this.clock.now(), command });
    return this.sim.send(command);
  }
  onEvent(handler: VoiceEventHandler): () => void {
    this.#handler = handler;
    return this.sim.onEvent((e) => {
      if (this.holdReservations && e.type === 'agent_reserved') {
        this.#kept.push(e);
        return;
      }
      return handler(e);
    });
  }
  async deliverReservations(): Promise<void> {
    this.holdReservations = false;
    for (const e of this.#kept.splice(0)) await this.#handler?.(e);
  }
  availableAgents(tenant: string, queue: string): number {
    return this.agentsAway ? 0 : this.sim.availableAgents(tenant, queue);
  }
  start(): Promise<void> {
    return this.sim.start();
  }
  stop(): Promise<void> {
    return this.sim.stop();
  }
}

async function office(
  t: TestContext,
  closeInMs: number,
  customers: ContactCenterSimulatorConfig['customers'],
  service: Partial<ServiceOptions> = {},
  agentsAway = false,
) {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, {});
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const hours = hoursClosingIn(closeInMs);
  const hoursId = await upsertBusinessHours(db.pool, tenant.id, hours.doc);
  await upsertService(db.pool, tenant.id, 'sales', parseServiceOptions({ inQueueChecking: 'false', requestsPerNumberPer24h: 0, ...service }), {
    businessHoursId: hoursId,
  });
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 3,
    clock,
    customers,
    queues: { [`${tenant.name}/sales`]: { agents: 2, handleTimeSec: { mean: 120, sd: 5 } } },
  });
  const voice = new HidingPort(sim, clock);
  voice.agentsAway = agentsAway;
  voice.holdReservations = service.firstConnectParty === 'AGENT';
  const engine = new CallbackEngine({
    db: db.pool,
    hot: new MemoryHotState(),
    voice,
    clock: simulatedEngineClock(clock),
    logger: createLogger('silent'),
    pollMs: 1000,
    sweepMs: 5000,
    watchdogCapSec: 600,
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
  const { id } = await callbacks.create(who, { serviceName: 'sales', phoneNumber: '+14155552001' });
  /** Moves simulated time on by `ms`, in steps of at most `stepMs`, letting the engine finish each step's work. */
  const advance = async (ms: number, stepMs = 5000) => {
    for (let left = ms; left > 0; left -= stepMs) {
      clock.advanceBy(Math.min(stepMs, left));
      await engine.idle();
      db.clock.__test__pretendNow(clock.now());
    }
  };
  /** Moves simulated time on to `atMs`. */
  const advanceTo = (atMs: number, stepMs?: number) => advance(atMs - clock.now(), stepMs);
  const row = async () => (await engineRows(db.pool, [id]))[0]!;
  return { close: hours.closeMs, open: hours.openMs, sim, voice, clock, engine, advance, advanceTo, row, retrieve: () => callbacks.retrieve(who, id) };
}

const ANSWER = { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 };
const BUSY = { answer: 0, busy: 1, noAnswer: 0, machine: 0, invalid: 0 };

test('a callback still queued when the office closes waits for the next opening and is dialed then', async (t) => {
  const o = await office(t, 10 * 60_000, ANSWER, {}, true); // every agent busy until after closing
  await o.advance(5000);
  assert.equal((await o.row()).phase, 'WAITING', 'created while open: it waits in its queue');
  await o.advanceTo(o.close + 60_000);
  o.voice.agentsAway = false; // agents free again, but the office is closed
  await o.advance(10_000);
  assert.equal(o.voice.dials.length, 0, 'not dialed after closing');
  const held = await o.row();
  assert.equal(held.state, 'QUEUED', JSON.stringify(await o.retrieve()));
  assert.equal(held.phase, 'RETRY_WAIT', 'held out of its queue');
  assert.equal(held.attempt, 0, 'no attempt spent');
  assert.equal(held.dueAt?.toISOString(), new Date(o.open).toISOString(), "due again at the next opening, in the office's zone");
  await o.advanceTo(o.open - 60_000, HOUR);
  assert.equal(o.voice.dials.length, 0, 'not dialed overnight');
  await o.advance(90_000, 1000);
  assert.equal(o.voice.dials.length, 1, 'dialed at the opening');
  assert.ok(o.voice.dials[0]!.atMs >= o.open && o.voice.dials[0]!.atMs < o.open + 10_000, 'within seconds of the opening');
  await o.advance(300_000);
  assert.equal((await o.retrieve()).state, 'COMPLETED');
});

test('a retry that comes due just before closing, with no agent free until after it, waits for the next opening', async (t) => {
  const o = await office(t, 3 * 60_000, BUSY, { retry: { ...parseServiceOptions({}).retry, busy: { maxAttempts: 3, delaySec: 30 } } });
  for (let s = 0; s < 60 && o.voice.dials.length === 0; s++) await o.advance(1000, 1000);
  assert.equal(o.voice.dials.length, 1, 'first dial while open');
  o.voice.agentsAway = true;
  for (let s = 0; s < 120 && (await o.row()).phase !== 'WAITING'; s++) await o.advance(1000, 1000);
  const back = await o.row();
  assert.equal(back.phase, 'WAITING', 'busy, then the retry pause ended before closing: back in its queue');
  assert.ok(o.clock.now() < o.close);
  await o.advanceTo(o.close + 30_000, 1000);
  o.voice.agentsAway = false;
  await o.advance(10_000);
  assert.equal(o.voice.dials.length, 1, 'the retry is not dialed after closing');
  const held = await o.row();
  assert.equal(held.phase, 'RETRY_WAIT');
  assert.equal(held.dueAt?.toISOString(), new Date(o.open).toISOString());
  await o.advanceTo(o.open - 60_000, HOUR);
  await o.advance(90_000, 1000);
  assert.equal(o.voice.dials.length, 2, 'the retry is dialed at the opening');
  assert.ok(o.voice.dials[1]!.atMs >= o.open);
});

test('a callback whose time to live ends before the next opening is not dialed after hours: it completes FAIL_TIMEOUT_TTL', async (t) => {
  const o = await office(t, 10 * 60_000, ANSWER, { ttlSec: 3600 }, true);
  await o.advanceTo(o.close + 60_000);
  o.voice.agentsAway = false;
  await o.advance(10_000);
  const held = await o.row();
  assert.equal(held.phase, 'RETRY_WAIT');
  const expiresAt = new Date((await o.retrieve()).desiredTime).getTime() + HOUR;
  assert.ok(Math.abs(held.dueAt!.getTime() - expiresAt) < 1000 && expiresAt < o.open, 'held until its time to live ends, before the opening');
  await o.advanceTo(o.close + HOUR, 60_000);
  const record = await o.retrieve();
  assert.equal(record.state, 'COMPLETED');
  assert.equal(record.reason, 'FAIL_TIMEOUT_TTL');
  assert.equal(o.voice.dials.length, 0);
});

test('agent first, an agent found only after closing: it is given back, the customer is not dialed until the opening', async (t) => {
  const o = await office(t, 20_000, ANSWER, { firstConnectParty: 'AGENT' });
  await o.advance(2000, 1000);
  assert.ok(
    o.voice.sent.some((c) => c.type === 'reserve_agent'),
    'an agent asked for while open',
  );
  await o.advanceTo(o.close + 5000, 1000);
  await o.voice.deliverReservations(); // the platform's answer arrives after closing
  await o.engine.idle();
  const release = o.voice.sent.filter((c) => c.type === 'release_agent');
  assert.equal(release.length, 1, 'the agent is given back at once');
  await o.advance(15_000, 1000); // the sweep offers the queue again: the callback is held
  assert.equal(o.voice.dials.length, 0, 'not dialed after closing');
  assert.equal(o.sim.agentsHeld(), 0);
  const held = await o.row();
  assert.equal(held.phase, 'RETRY_WAIT');
  assert.equal(held.dueAt?.toISOString(), new Date(o.open).toISOString());
  await o.advanceTo(o.open - 60_000, HOUR);
  await o.advance(90_000, 1000);
  assert.equal(o.voice.dials.length, 1, 'dialed from the opening');
  assert.ok(o.voice.dials[0]!.atMs >= o.open);
});
