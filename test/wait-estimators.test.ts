import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EMPTY_EWMA, EWMA_EVENTS, ewmaAdd, ewmaMean } from '../src/domain/wait/ewma.ts';
import { EMPTY_MEASURES, HISTORY_SIZE, recordCompletion, recordDial, type QueueMeasures } from '../src/domain/wait/queue-measures.ts';
import type { QueueObservation } from '../src/domain/wait/queue-observation.ts';
import { agentTurnAt, mode3Wait } from '../src/domain/wait/mode3-estimator.ts';
import { mode1Wait } from '../src/domain/wait/mode1-estimator.ts';
import { mode2Wait } from '../src/domain/wait/mode2-estimator.ts';
import { naiveWait } from '../src/domain/wait/naive-estimator.ts';
import { callbackWait, parseApiWaitMode, queueWait, WAIT_MODES, type WaitMode } from '../src/domain/wait/wait-estimator.ts';
import { apiWaitTime } from '../src/domain/wait/wait-estimate.ts';
import { meanResidualSec } from '../src/domain/wait/residual-service.ts';
import { EstimatorErrorTally } from '../src/domain/wait/estimator-error.ts';
import { decideQueueStatus } from '../src/domain/wait/offer-decision.ts';
import { simulatedDay } from '../bench/wait/standard-day.ts';

const T0 = Date.UTC(2030, 0, 7, 8);
const HOUR = 3_600_000;

/** Measures of a queue that connected `n` callbacks, each after `waitSec`, handled in `handleSec`, one every `gapSec`. */
function history(n: number, { handleSec = 300, waitSec = 60, gapSec = 30, agents = 5, reachSec = 10, failure = 0 } = {}): QueueMeasures {
  let m = EMPTY_MEASURES;
  for (let i = 0; i < n; i += 1) {
    const connectedAt = T0 + i * gapSec * 1000;
    m = recordDial(m, { answered: true, reachSec });
    if (failure > 0 && i % Math.round(1 / failure) === 0) m = recordDial(m, { answered: false, failSec: 20 });
    m = recordCompletion(m, { queuedAt: connectedAt - waitSec * 1000, connectedAt, handleSec, agentsLoggedIn: agents });
  }
  return m;
}

function observation(overrides: Partial<QueueObservation> = {}): QueueObservation {
  return { now: T0 + HOUR, agentsLoggedIn: 5, agentsFree: 0, agentsBusy: 5, waiting: 10, inFlight: 0, measures: history(40), ...overrides };
}

const seconds = (e: { seconds: number | undefined }): number => {
  assert.notEqual(e.seconds, undefined, 'an estimate was expected');
  return e.seconds!;
};

describe('measures', () => {
  test('the average is the first sample at once, ignores non-finite samples, and follows a lasting change', () => {
    let avg = ewmaAdd(EMPTY_EWMA, 300);
    assert.equal(ewmaMean(EMPTY_EWMA), undefined);
    assert.ok(Math.abs(ewmaMean(avg)! - 300) < 1e-9, 'no start-up bias towards 0');
    assert.equal(ewmaAdd(avg, Number.NaN), avg);
    for (let i = 0; i < 10 * EWMA_EVENTS; i += 1) avg = ewmaAdd(avg, 300);
    for (let i = 0; i < EWMA_EVENTS; i += 1) avg = ewmaAdd(avg, 600);
    const moved = (ewmaMean(avg)! - 300) / 300;
    assert.ok(moved > 0.85 && moved < 0.9, `after ${EWMA_EVENTS} samples the mean moved ${moved} of the way`);
  });

  test('the history keeps the last 32 completions in completion order', () => {
    let m = EMPTY_MEASURES;
    // A long call connected first and completed last must stay in the window.
    m = recordCompletion(m, { queuedAt: T0, connectedAt: T0, handleSec: 3000, agentsLoggedIn: 2 });
    for (let i = 1; i <= 40; i += 1) m = recordCompletion(m, { queuedAt: T0, connectedAt: T0 + i * 1000, handleSec: 10, agentsLoggedIn: 2 });
    m = recordCompletion(m, { queuedAt: T0 - 9000, connectedAt: T0 - 5000, handleSec: 4000, agentsLoggedIn: 2 });
    assert.equal(m.recent.length, HISTORY_SIZE);
    assert.equal(m.recent.at(-1)!.handleSec, 4000, 'the latest completion is last, whatever its connect time');
    assert.throws(() => recordCompletion(EMPTY_MEASURES, { queuedAt: T0, connectedAt: T0 - 1, handleSec: 1, agentsLoggedIn: 1 }), RangeError);
    assert.throws(() => recordDial(EMPTY_MEASURES, { answered: true, reachSec: -1 }), RangeError);
  });

  test('the mean residual time grows for a call that is already long, and never goes negative', () => {
    const samples = [60, 120, 180, 240, 300, 900];
    assert.ok(meanResidualSec(samples, 0, 300) > 250);
    assert.ok(meanResidualSec(samples, 290, 300) > 0);
    assert.ok(meanResidualSec(samples, 5000, 300) > 0, 'beyond every sample: the prior, not a negative time');
  });

  test('impossible observations are refused, naming the field', () => {
    assert.throws(() => mode3Wait(observation({ agentsFree: 3, agentsBusy: 3 }), 1), /exceeds agentsLoggedIn/);
    assert.throws(() => mode3Wait(observation({ busyElapsedSec: [1, 2] }), 1), /busyElapsedSec has 2 entries for 5/);
    assert.throws(() => mode1Wait(observation({ waiting: -1 }), 1), /waiting/);
    assert.throws(() => naiveWait(observation(), 0), /position/);
  });
});

describe('estimators', () => {
  test('no interactions yet: no estimate, except where agents are missing, which wins', () => {
    const fresh = observation({ measures: EMPTY_MEASURES });
    for (const mode of WAIT_MODES) assert.equal(queueWait(mode, fresh).reason, 'NO_HISTORY', mode);
    const nobody = observation({ agentsLoggedIn: 0, agentsBusy: 0, measures: EMPTY_MEASURES });
    assert.equal(queueWait('mode2', nobody).reason, 'NO_AGENTS');
    assert.equal(queueWait('mode3', nobody).reason, 'NO_AGENTS');
    assert.equal(queueWait('naive', nobody).reason, 'NO_AGENTS');
  });

  test('no agents logged in: mode2 and mode3 give no estimate, mode1 ignores agents', () => {
    const nobody = observation({ agentsLoggedIn: 0, agentsBusy: 0 });
    assert.deepEqual(mode2Wait(nobody, 1), { seconds: undefined, reason: 'NO_AGENTS', message: 'no agents logged in' });
    assert.equal(mode3Wait(nobody, 1).reason, 'NO_AGENTS');
    assert.ok(seconds(mode1Wait(nobody, 1)) > 0, 'mode1 still answers from throughput');
    assert.deepEqual(apiWaitTime(mode2Wait(nobody, 1)), { estimatedWaitTime: -1, message: 'no agents logged in' });
  });

  test('mode1 is position over throughput, in callbacks leaving the queue (connects and failed dials)', () => {
    // 40 connects 30 s apart, no failure: one callback leaves every 30 s.
    const obs = observation({ measures: history(40, { gapSec: 30 }) });
    assert.ok(Math.abs(seconds(mode1Wait(obs, 10)) - 300) < 1e-6);
    // A quarter of the dials fail: callbacks leave a third faster than they connect.
    const failing = observation({ measures: history(40, { gapSec: 30, failure: 0.25 }) });
    assert.ok(seconds(mode1Wait(failing, 10)) < 300 * 0.85);
  });

  test('mode2 rescales throughput to the agents logged in now and lets free agents take callbacks at once', () => {
    const obs = observation({ measures: history(40, { agents: 5 }) });
    const five = seconds(mode2Wait(obs, 10));
    const ten = seconds(mode2Wait({ ...obs, agentsLoggedIn: 10 }, 10));
    assert.ok(Math.abs(ten - five / 2) < 1e-6, 'twice the agents, half the wait');
    assert.equal(seconds(mode2Wait({ ...obs, agentsFree: 3, agentsBusy: 2, waiting: 0 }, 3)), 0);
  });

  test('mode3 with one busy agent: its remaining call, then one full turn per callback ahead, then the time to reach', () => {
    const m = history(40, { handleSec: 300, reachSec: 10 });
    const obs = observation({ agentsLoggedIn: 1, agentsBusy: 1, busyElapsedSec: [0], waiting: 0, measures: m });
    const first = seconds(mode3Wait(obs, 1));
    const residual = meanResidualSec(
      m.recent.map((i) => i.handleSec),
      0,
      300,
    );
    assert.ok(Math.abs(first - (residual + 10)) < 0.01, `${first} vs ${residual + 10}`);
    const third = seconds(mode3Wait(obs, 3));
    assert.ok(Math.abs(third - (residual + 2 * (10 + 300) + 10)) < 0.01, 'each callback ahead costs reach + handle');
  });

  test('mode3: a free agent means the wait is only the time to reach the customer', () => {
    const obs = observation({ agentsFree: 2, agentsBusy: 3, busyElapsedSec: [10, 20, 30], waiting: 0, measures: history(40, { reachSec: 12 }) });
    assert.ok(Math.abs(seconds(queueWait('mode3', obs)) - 12) < 1e-6);
    assert.ok(Math.abs(seconds(callbackWait('mode3', obs, 2)) - 12) < 1e-6);
    assert.ok(seconds(callbackWait('mode3', obs, 3)) > 12);
  });

  test('mode3: agents near the end of their calls are free sooner than agents who just started', () => {
    const base = { agentsLoggedIn: 3, agentsBusy: 3, waiting: 3 };
    const ending = seconds(mode3Wait(observation({ ...base, busyElapsedSec: [290, 295, 299] }), 1));
    const starting = seconds(mode3Wait(observation({ ...base, busyElapsedSec: [0, 1, 2] }), 1));
    assert.ok(ending < starting, `${ending} < ${starting}`);
  });

  test('mode3: dials that fail give their agent back quickly, so the queue moves faster than position × AHT', () => {
    const obs = observation({ measures: history(40, { failure: 0.5 }) });
    assert.ok(seconds(mode3Wait(obs, 30)) < seconds(naiveWait(obs, 30)));
  });

  test('mode3 customer-first: failed dials cost no agent time, in-flight callbacks still need an agent', () => {
    const obs = observation({ agentHeldWhileDialing: false, inFlight: 4 });
    assert.ok(seconds(mode3Wait(obs, 5)) > seconds(mode3Wait({ ...obs, inFlight: 0 }, 5)));
  });

  test('agent turns: exact for one agent, agents / every apart in steady state, immediate for free agents', () => {
    assert.ok(Math.abs(agentTurnAt([50], 200, 1) - 50) < 1e-9);
    assert.ok(Math.abs(agentTurnAt([50], 200, 4) - 650) < 1e-9);
    assert.equal(agentTurnAt([0, 0, 100], 200, 2), 0);
    const gap = agentTurnAt([100, 100, 100, 100], 200, 1000) - agentTurnAt([100, 100, 100, 100], 200, 999);
    assert.ok(Math.abs(gap - 50) < 1e-6);
    // Several busy agents: the first of them is free well before their common mean.
    assert.ok(agentTurnAt(new Array(8).fill(120), 200, 1) < 30);
    // A queue thousands deep costs no more than a bounded number of steps and stays finite.
    assert.ok(Number.isFinite(agentTurnAt([1e6, 5, 5], 100, 50_000)));
  });

  test('property: every estimate is finite, >= 0 and never decreases with the position', () => {
    const arbObservation = fc
      .record({
        agents: fc.integer({ min: 0, max: 40 }),
        freeShare: fc.double({ min: 0, max: 1, noNaN: true }),
        busyShare: fc.double({ min: 0, max: 1, noNaN: true }),
        waiting: fc.integer({ min: 0, max: 500 }),
        inFlight: fc.integer({ min: 0, max: 20 }),
        completions: fc.integer({ min: 0, max: 60 }),
        handleSec: fc.double({ min: 1, max: 3000, noNaN: true }),
        reachSec: fc.double({ min: 0, max: 60, noNaN: true }),
        failure: fc.constantFrom(0, 0.1, 0.25, 0.5),
        elapsed: fc.array(fc.double({ min: 0, max: 5000, noNaN: true }), { minLength: 40, maxLength: 40 }),
        agentFirst: fc.boolean(),
      })
      .map((r): QueueObservation => {
        const free = Math.floor(r.agents * r.freeShare);
        const busy = Math.floor((r.agents - free) * r.busyShare);
        return {
          now: T0 + 10 * HOUR,
          agentsLoggedIn: r.agents,
          agentsFree: free,
          agentsBusy: busy,
          busyElapsedSec: r.elapsed.slice(0, busy),
          waiting: r.waiting,
          inFlight: r.inFlight,
          agentHeldWhileDialing: r.agentFirst,
          measures: history(r.completions, { handleSec: r.handleSec, reachSec: r.reachSec, failure: r.failure, agents: Math.max(1, r.agents) }),
        };
      });
    fc.assert(
      fc.property(arbObservation, fc.integer({ min: 1, max: 300 }), fc.constantFrom(...WAIT_MODES), (obs, p, mode) => {
        const here = callbackWait(mode, obs, p);
        const behind = callbackWait(mode, obs, p + 1);
        if (here.seconds === undefined) return behind.reason === here.reason;
        return Number.isFinite(here.seconds) && here.seconds >= 0 && behind.seconds! >= here.seconds - 1e-6;
      }),
      { numRuns: 400 },
    );
  });

  test('the API mode parameter: mode2 by default, only mode1-3 accepted, in any case', () => {
    assert.equal(parseApiWaitMode(undefined), 'mode2');
    assert.equal(parseApiWaitMode('mode3'), 'mode3');
    assert.equal(parseApiWaitMode('naive'), undefined);
    assert.equal(parseApiWaitMode('MODE1'), 'mode1'); // clients differ in case (issue 11 leniency)
    assert.equal(parseApiWaitMode('mode4'), undefined);
    assert.deepEqual(apiWaitTime({ seconds: 41.6 }), { estimatedWaitTime: 42 });
  });
});

describe('estimator error', () => {
  test('mean absolute error, bias and count per mode; tallies merge and survive JSON', () => {
    const a = new EstimatorErrorTally().record('mode3', 100, 80).record('mode3', 50, 70).record('naive', 300, 100);
    assert.deepEqual(a.summary('mode3'), { count: 2, meanAbsoluteError: 20, meanError: 0 });
    assert.deepEqual(a.summary('mode1'), { count: 0, meanAbsoluteError: undefined, meanError: undefined });
    const b = new EstimatorErrorTally().record('mode3', 10, 0);
    b.merge(JSON.parse(JSON.stringify(a)) as ReturnType<EstimatorErrorTally['toJSON']>);
    assert.deepEqual(b.summary('mode3'), { count: 3, meanAbsoluteError: 50 / 3, meanError: 10 / 3 });
    assert.deepEqual(Object.keys(b.report()).sort(), ['mode3', 'naive']);
    assert.throws(() => a.record('mode1', Number.NaN, 1), RangeError);
  });
});

describe('queue status offer', () => {
  const open = { immediateEnabled: true, scheduledEnabled: true, secondsUntilClose: 3600 };

  test('immediate is offered only when enabled, open, and the wait ends before closing', () => {
    assert.deepEqual(decideQueueStatus({ ...open, estimate: { seconds: 120.4 } }), { ewt: 120, offerImmediateCallback: true, offerScheduledCallback: true });
    assert.equal(
      decideQueueStatus({ ...open, secondsUntilClose: 120, estimate: { seconds: 120.4 } }).offerImmediateCallback,
      false,
      'waiting until closing time is too late',
    );
    assert.equal(decideQueueStatus({ ...open, secondsUntilClose: 121, estimate: { seconds: 120.4 } }).offerImmediateCallback, true);
    assert.equal(decideQueueStatus({ ...open, secondsUntilClose: 0, estimate: { seconds: 1 } }).offerImmediateCallback, false, 'closed');
    assert.equal(decideQueueStatus({ ...open, immediateEnabled: false, estimate: { seconds: 1 } }).offerImmediateCallback, false);
  });

  test('scheduled mirrors its option; ewt -1 keeps both GES meanings', () => {
    const noAgents = decideQueueStatus({ ...open, scheduledEnabled: false, estimate: mode2Wait(observation({ agentsLoggedIn: 0, agentsBusy: 0 }), 1) });
    assert.deepEqual(noAgents, { ewt: -1, offerImmediateCallback: false, offerScheduledCallback: false, reason: 'NO_AGENTS' });
    const noHistory = decideQueueStatus({ ...open, estimate: mode3Wait(observation({ measures: EMPTY_MEASURES }), 1) });
    assert.deepEqual(noHistory, { ewt: -1, offerImmediateCallback: true, offerScheduledCallback: true, reason: 'NO_HISTORY' });
    assert.equal(decideQueueStatus({ ...open, secondsUntilClose: 0, estimate: noHistoryEstimate() }).offerImmediateCallback, false, 'closed still wins');
    assert.throws(() => decideQueueStatus({ ...open, secondsUntilClose: -1, estimate: { seconds: 1 } }), RangeError);
  });

  function noHistoryEstimate() {
    return queueWait('mode3', observation({ measures: EMPTY_MEASURES }));
  }
});

test('on simulated days, mode3 is the most accurate and its mean absolute error is at least 30 % below the naive estimate', (t) => {
  // Three days merged: one day's surge can be luckier or unluckier than any model expects.
  const tally = new EstimatorErrorTally();
  for (const seed of ['wait-day-1', 'wait-day-2', 'wait-day-3']) tally.merge(simulatedDay(seed, 8));
  const report = tally.report();
  for (const mode of WAIT_MODES) {
    const s = report[mode]!;
    t.diagnostic(`${mode}: ${s.count} callbacks, MAE ${s.meanAbsoluteError!.toFixed(1)} s, bias ${s.meanError!.toFixed(1)} s`);
  }
  const mae = (mode: WaitMode) => report[mode]!.meanAbsoluteError!;
  assert.ok(report.mode3!.count > 2000, 'enough connected callbacks to compare');
  assert.ok(mae('mode3') <= 0.7 * mae('naive'), `mode3 ${mae('mode3')} vs naive ${mae('naive')}`);
  for (const mode of ['mode1', 'mode2'] as const) assert.ok(mae('mode3') < mae(mode), `mode3 ${mae('mode3')} vs ${mode} ${mae(mode)}`);
  // Nearly unbiased: a systematic error would show here before it shows in the MAE.
  assert.ok(Math.abs(report.mode3!.meanError!) < 0.25 * mae('mode3'), `mode3 bias ${report.mode3!.meanError}`);
});
