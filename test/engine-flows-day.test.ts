import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { startSimulatedEngine } from './support/simulated-engine.ts';
import { AGENTS, assertEveryFlowPlayed, checkCallbacks, flowSim, phoneOf, recreatedCallbacks, serviceOf, SERVICES, type Created } from './support/flow-day.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { ledgerSnapshot } from '../src/voice/redis-stream/dial-ledger-file.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';

/**
 * Every voice flow in one simulated day on the in-process simulator: the services and mixes of
 * engine-multinode.test.ts (customer confirmation ending or connecting, agent preview in both
 * modes, machines left a message or treated as answered, the disposition dialog with its
 * recreates, context on the call), played by one engine on simulated time, the hot state lost
 * mid-run. Each callback is checked against the simulator's ledger by the same rules as the
 * three-process day: the reason it completed with follows from what the ledger says happened to
 * its calls, no attempt was dialed twice, and no agent was offered a callback again after
 * rejecting it.
 */

const CALLBACKS = 280;

test('a simulated day plays every voice flow; each callback ends as the simulator ledger implies', { timeout: 300_000 }, async (t) => {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, SERVICES);
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const who = { id: tenant.id, name: tenant.name };
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const { perNumber, ...mixes } = flowSim(CALLBACKS);
  const sim = new ContactCenterSimulator({
    ...mixes,
    perNumber: (phone) => perNumber[phone],
    seed: 20240611,
    clock,
    queues: Object.fromEntries(
      Object.entries(AGENTS).map(([service, agents]) => [`${tenant.name}/${service}`, { agents, handleTimeSec: { mean: 10, sd: 3 } }]),
    ),
  });
  const hot = new MemoryHotState();
  const { engine, callbacks } = await startSimulatedEngine(t, db, sim, clock, { hot, pollMs: 500, sweepMs: 5_000 });
  const step = async (ms: number) => {
    clock.advanceBy(ms);
    await engine.idle();
    db.clock.__test__pretendNow(clock.now());
  };

  const created: Created[] = [];
  for (let n = 0; n < CALLBACKS; n++) {
    const service = serviceOf(n);
    const scheduled = n % 3 === 2;
    const orderId = service === 'context' ? `A-${n}` : undefined;
    const { id } = await callbacks.create(who, {
      serviceName: service,
      phoneNumber: phoneOf(n),
      ...(scheduled ? { desiredTime: new Date(clock.now() + (2 + (n % 11)) * 10_000).toISOString() } : {}),
      ...(orderId === undefined ? {} : { userData: { orderId, note: 'a context field' } }),
    });
    created.push({ id, service, scheduled, via: 'the engine', ...(orderId === undefined ? {} : { orderId }) });
    // Created over the first minutes of the day, a few per simulated second.
    if (n % 5 === 4) await step(1000);
  }

  // Mid-day the hot state is lost: the engine rebuilds it from Postgres and carries on.
  for (let i = 0; i < 30; i++) await step(1000);
  hot.flush();

  const open = async () => {
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE state < 5 OR disposition = 0');
    return rows[0]!.n;
  };
  const dayEnd = clock.now() + 4 * 3600_000;
  let left = await open();
  while (left > 0 && clock.now() < dayEnd) {
    for (let i = 0; i < 20; i++) await step(500);
    left = await open();
  }
  assert.equal(left, 0, 'every callback completed (and every disposition dialog was answered) within the simulated day');

  const final = ledgerSnapshot(sim.ledger, { agentsHeld: sim.agentsHeld(), holdsExpired: sim.holdsExpired() });
  const recreated = await recreatedCallbacks(db, created);
  const summary = await checkCallbacks(db, [...created, ...recreated], final);
  assertEveryFlowPlayed(summary, recreated.length);
  assert.equal(summary.dialsPlaced, final.dialsPlaced, 'the ledger holds the dials of these callbacks and nothing else');
  assert.equal(summary.dispositionsLost, 0, 'no disposition is lost without a fault');
  assert.equal(final.agentsHeld, 0, 'every agent held for an attempt was given back');
  assert.equal(final.holdsExpired, 0, 'by GES (release_agent), none by the safety-net expiry');
  t.diagnostic(
    `${CALLBACKS} callbacks and ${recreated.length} recreated by CALL_BACK_LATER, ${final.dialsPlaced} dials, ${final.duplicates} repeated dial commands, ` +
      `${summary.givenUp} attempts given up by a watchdog, flows ${JSON.stringify(summary.flows)}, reasons ${JSON.stringify(summary.reasons)}, ` +
      `outcomes ${JSON.stringify(summary.outcomes)}`,
  );
});
