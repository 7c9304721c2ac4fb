import { EMPTY_EWMA, ewmaAdd, ewmaMean, type Ewma } from './ewma.ts';

/**
 * What the engine remembers about one callback queue between events, so that every wait estimator
 * can run from it: a fixed-size history of the last completed interactions plus four exponential
 * averages (see ewma.ts for their window). About 136 numbers per queue, whatever the traffic; the
 * reducers below return a new value and never mutate, so the engine can keep the current one in a
 * map and swap it.
 */

/** The reference's mode1 window: "only considers the last 32 interactions" (ges-api.md §1.7). */
export const HISTORY_SIZE = 32;

/** One callback that reached an agent, recorded when the agent is ready again after it. */
export interface CompletedInteraction {
  /** Epoch ms the callback entered the queue (QUEUED: created immediate, or its scheduled time came). */
  readonly queuedAt: number;
  /** Epoch ms the customer was connected to an agent: the end of the customer's wait. */
  readonly connectedAt: number;
  /** Talk plus wrap-up seconds: how long the interaction kept its agent from the next one. */
  readonly handleSec: number;
  /** Agents logged in for the queue at connect time: lets mode2 rescale throughput to today's staffing. */
  readonly agentsLoggedIn: number;
}

export interface QueueMeasures {
  /** The last HISTORY_SIZE completed interactions, in the order they completed (oldest first). */
  readonly recent: readonly CompletedInteraction[];
  /** Talk + wrap-up seconds per connected callback. */
  readonly handleSec: Ewma;
  /** Seconds from dial to answer, answered dials only. */
  readonly reachSec: Ewma;
  /** 1 for a dial that did not reach the customer (busy, no answer, machine, invalid, failed), 0 for an answered one. */
  readonly dialFailure: Ewma;
  /** Seconds from dial to the failure, failed dials only: how long a failed attempt holds an agent. */
  readonly failSec: Ewma;
}

export const EMPTY_MEASURES: QueueMeasures = Object.freeze({
  recent: Object.freeze([]),
  handleSec: EMPTY_EWMA,
  reachSec: EMPTY_EWMA,
  dialFailure: EMPTY_EWMA,
  failSec: EMPTY_EWMA,
});

/** A dial attempt's outcome as the estimators need it. */
export type DialOutcomeSample = { readonly answered: true; readonly reachSec: number } | { readonly answered: false; readonly failSec: number };

/** Records a callback whose agent is ready again (talk and wrap-up over). */
export function recordCompletion(m: QueueMeasures, done: CompletedInteraction): QueueMeasures {
  if (!Number.isFinite(done.queuedAt) || !Number.isFinite(done.connectedAt) || done.connectedAt < done.queuedAt) {
    throw new RangeError(`completed interaction needs queuedAt <= connectedAt (got ${done.queuedAt}, ${done.connectedAt})`);
  }
  if (!(done.handleSec >= 0) || !Number.isFinite(done.handleSec)) throw new RangeError(`handleSec must be >= 0 (got ${done.handleSec})`);
  if (!Number.isInteger(done.agentsLoggedIn) || done.agentsLoggedIn < 0)
    throw new RangeError(`agentsLoggedIn must be an integer >= 0 (got ${done.agentsLoggedIn})`);
  // Kept in completion order, never re-sorted by connect time: sorting and then keeping the 32 latest
  // connects would drop every long call (connected before 32 shorter ones that ended first), and the
  // handle-time samples would lean short; the residual times of mode3 measurably did.
  const recent = [...m.recent, { ...done }].slice(-HISTORY_SIZE);
  return { ...m, recent, handleSec: ewmaAdd(m.handleSec, done.handleSec) };
}

/** Records the end of one dial attempt (answered, or failed without reaching the customer). */
export function recordDial(m: QueueMeasures, outcome: DialOutcomeSample): QueueMeasures {
  if (outcome.answered) {
    if (!(outcome.reachSec >= 0)) throw new RangeError(`reachSec must be >= 0 (got ${outcome.reachSec})`);
    return { ...m, reachSec: ewmaAdd(m.reachSec, outcome.reachSec), dialFailure: ewmaAdd(m.dialFailure, 0) };
  }
  if (!(outcome.failSec >= 0)) throw new RangeError(`failSec must be >= 0 (got ${outcome.failSec})`);
  return { ...m, failSec: ewmaAdd(m.failSec, outcome.failSec), dialFailure: ewmaAdd(m.dialFailure, 1) };
}

/** The smoothed numbers the estimators read; undefined where nothing was measured yet. */
export interface MeasuredRates {
  readonly handleSec: number | undefined;
  readonly reachSec: number | undefined;
  readonly failureRate: number | undefined;
  readonly failSec: number | undefined;
}

export function measuredRates(m: QueueMeasures): MeasuredRates {
  return {
    handleSec: ewmaMean(m.handleSec),
    reachSec: ewmaMean(m.reachSec),
    failureRate: ewmaMean(m.dialFailure),
    failSec: ewmaMean(m.failSec),
  };
}

/** Seconds each recent callback waited from queued to connected, oldest first. */
export function recentWaitsSec(m: QueueMeasures): number[] {
  return m.recent.map((i) => (i.connectedAt - i.queuedAt) / 1000);
}
