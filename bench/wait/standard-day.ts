import { EMPTY_MEASURES, recordCompletion, recordDial } from '../../src/domain/wait/queue-measures.ts';
import type { QueueObservation } from '../../src/domain/wait/queue-observation.ts';
import { queueWait, WAIT_MODES, type WaitMode } from '../../src/domain/wait/wait-estimator.ts';
import { EstimatorErrorTally } from '../../src/domain/wait/estimator-error.ts';
import { SimClock } from '../../src/voice/simulator/sim-clock.ts';
import { Prng } from '../../src/voice/simulator/prng.ts';
import { ContactCenterSimulator } from '../../src/voice/simulator/contact-center-simulator.ts';
import { dialKeyOf, type VoiceCommand } from '../../src/voice/voice-port.ts';

/**
 * The simulator's standard day for the wait estimators (docs/ESTIMATED-WAIT.md "How good it is"):
 * shared by test/wait-estimators.test.ts, which asserts the accuracy budget, and bench/wait/run.ts,
 * which prints the figures recorded in docs/BENCHMARKS.md.
 */

const T0 = Date.UTC(2030, 0, 7, 8);
const HOUR = 3_600_000;

/**
 * A day of one callback queue on the contact-center simulator, driven by a minimal agent-first
 * dispatcher (FIFO; reserve an agent, dial for them, connect on answer, release the agent of a
 * failed dial), which keeps the measures and counts exactly as the engine is asked to. Every
 * callback queued gets each mode's estimate at arrival; when it is connected its real wait is
 * tallied against them.
 */
export function simulatedDay(seed: string, agents: number): EstimatorErrorTally {
  const clock = new SimClock(T0);
  const sim = new ContactCenterSimulator({ seed, clock, queues: { 'acme/sales': { agents, handleTimeSec: { mean: 240, sd: 150 }, wrapUpSec: 20 } } });
  const fire = (command: VoiceCommand): void => {
    sim.send(command).catch((error: unknown) => {
      throw error;
    });
  };
  interface Queued {
    id: string;
    queuedAt: number;
    predicted: Partial<Record<WaitMode, number>>;
  }
  const waiting: Queued[] = [];
  const dialing = new Map<string, { cb: Queued; agentId: string; dialAt: number }>();
  const talking = new Map<string, { cb: Queued; connectedAt: number }>();
  let reserving = false;
  let measures = EMPTY_MEASURES;
  const tally = new EstimatorErrorTally();

  const pump = (): void => {
    if (reserving || waiting.length === 0 || sim.availableAgents('acme', 'sales') === 0) return;
    reserving = true;
    fire({ type: 'reserve_agent', dialKey: waiting[0]!.id, tenant: 'acme', queue: 'sales' });
  };
  sim.onEvent((e) => {
    const now = clock.now();
    switch (e.type) {
      case 'agent_reserved': {
        reserving = false;
        const cb = waiting.shift()!;
        dialing.set(cb.id, { cb, agentId: e.agentId, dialAt: now });
        fire({ type: 'dial', dialKey: cb.id, tenant: 'acme', queue: 'sales', phone: '+14155550100', agentId: e.agentId });
        pump();
        return;
      }
      case 'no_agent':
        reserving = false;
        pump();
        return;
      case 'answered': {
        const d = dialing.get(e.dialKey)!;
        measures = recordDial(measures, { answered: true, reachSec: (now - d.dialAt) / 1000 });
        fire({ type: 'connect', dialKey: e.dialKey, agentId: d.agentId });
        return;
      }
      case 'busy':
      case 'no_answer':
      case 'machine':
      case 'invalid_number':
      case 'failed': {
        const d = dialing.get(e.dialKey)!;
        dialing.delete(e.dialKey);
        measures = recordDial(measures, { answered: false, failSec: (now - d.dialAt) / 1000 });
        // The platform keeps the agent held for a failed attempt until it is given back, as GES does
        // (docs/VOICE-CONTRACT.md, "Holding agents"); otherwise only the safety-net expiry frees it.
        fire({ type: 'release_agent', dialKey: e.dialKey, agentId: d.agentId });
        return;
      }
      case 'connected': {
        const d = dialing.get(e.dialKey)!;
        dialing.delete(e.dialKey);
        talking.set(e.agentId, { cb: d.cb, connectedAt: now });
        const actual = (now - d.cb.queuedAt) / 1000;
        for (const [mode, predicted] of Object.entries(d.cb.predicted)) tally.record(mode as WaitMode, predicted, actual);
        return;
      }
      case 'agent_ready': {
        // Ready again after talk and wrap-up: the handle time is known now.
        const t = talking.get(e.agentId);
        if (t !== undefined) {
          talking.delete(e.agentId);
          measures = recordCompletion(measures, {
            queuedAt: t.cb.queuedAt,
            connectedAt: t.connectedAt,
            handleSec: (now - t.connectedAt) / 1000,
            agentsLoggedIn: agents,
          });
        }
        pump();
        return;
      }
      default:
        return;
    }
  });

  // Requests per hour for a team of 8 (about 150/h of capacity): calm, a three-hour surge that
  // builds a queue of dozens, then a drain.
  const perHour = [110, 110, 170, 170, 170, 130, 130, 90, 90, 90].map((x) => (x * agents) / 8);
  const arrivals = new Prng(`${seed}/arrivals`);
  let t = T0;
  let n = 0;
  for (let h = 0; h < perHour.length; h += 1) {
    const end = T0 + (h + 1) * HOUR;
    for (t += arrivals.exponential(HOUR / perHour[h]!); t < end; t += arrivals.exponential(HOUR / perHour[h]!)) {
      const id = dialKeyOf(`cb-${n++}`, 1);
      clock.schedule(Math.round(t), () => {
        const now = clock.now();
        const obs: QueueObservation = {
          now,
          agentsLoggedIn: agents,
          agentsFree: sim.availableAgents('acme', 'sales'),
          agentsBusy: talking.size,
          busyElapsedSec: [...talking.values()].map((b) => (now - b.connectedAt) / 1000),
          waiting: waiting.length,
          inFlight: dialing.size,
          measures,
        };
        const estimates = WAIT_MODES.map((mode) => [mode, queueWait(mode, obs).seconds] as const);
        // Compared only where every mode has an estimate (after the first completions), so all face the same callbacks.
        const predicted = estimates.every(([, s]) => s !== undefined) ? Object.fromEntries(estimates) : {};
        waiting.push({ id, queuedAt: now, predicted });
        pump();
      });
    }
    t = end;
  }
  void sim.start();
  clock.runUntilIdle(16 * HOUR);
  if (waiting.length + dialing.size + talking.size !== 0) throw new Error('the day must end with every callback served');
  // A hold freed by the safety net is a release this dispatcher owed: the day would not be the engine's.
  if (sim.holdsExpired() !== 0) throw new Error(`the day must give back every agent it held (${sim.holdsExpired()} holds expired)`);
  return tally;
}
