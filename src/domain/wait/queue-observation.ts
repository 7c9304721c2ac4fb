import type { QueueMeasures } from './queue-measures.ts';

/**
 * Everything a wait estimator may look at for one queue at one instant: the live counts the engine
 * already keeps (agents, callbacks waiting, callbacks being dialed) plus the remembered
 * {@link QueueMeasures}. Estimators are pure functions of this value, so an estimate can be
 * recomputed, logged and replayed exactly.
 */
export interface QueueObservation {
  /** Epoch ms of the observation. */
  readonly now: number;
  /** Agents logged in who can take this queue (ready, busy or not ready). */
  readonly agentsLoggedIn: number;
  /** Of those, agents ready and idle right now. */
  readonly agentsFree: number;
  /** Of those, agents on a connected callback of this queue or in its wrap-up. */
  readonly agentsBusy: number;
  /**
   * Seconds since connect for each busy agent (talk and wrap-up so far), when the engine knows them:
   * they give each agent's expected remaining handle time. Absent, every busy agent is assumed half-way
   * (the equilibrium residual). When present its length must equal agentsBusy.
   */
  readonly busyElapsedSec?: readonly number[];
  /** Callbacks QUEUED (waiting for an agent), in queue order. */
  readonly waiting: number;
  /** Callbacks taken from the queue and not yet connected: being routed or dialed. */
  readonly inFlight: number;
  /**
   * Whether an agent is held while the customer is dialed (agent-first, GES's usual order: the
   * virtual interaction is routed to an agent, then the customer is called). Default true. When false
   * (customer-first), failed dials cost agents nothing and in-flight callbacks still need an agent.
   */
  readonly agentHeldWhileDialing?: boolean;
  readonly measures: QueueMeasures;
}

const count = (value: number, what: string): void => {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${what} must be an integer >= 0 (got ${value})`);
};

/**
 * Throws a RangeError naming the first impossible field. Estimators call it first: a wrong count is
 * an engine bug that should surface, not a silently wrong wait.
 */
export function checkObservation(obs: QueueObservation): void {
  if (!Number.isFinite(obs.now)) throw new RangeError(`now must be an epoch-ms time (got ${obs.now})`);
  count(obs.agentsLoggedIn, 'agentsLoggedIn');
  count(obs.agentsFree, 'agentsFree');
  count(obs.agentsBusy, 'agentsBusy');
  count(obs.waiting, 'waiting');
  count(obs.inFlight, 'inFlight');
  if (obs.agentsFree + obs.agentsBusy > obs.agentsLoggedIn) {
    throw new RangeError(`agentsFree + agentsBusy (${obs.agentsFree} + ${obs.agentsBusy}) exceeds agentsLoggedIn (${obs.agentsLoggedIn})`);
  }
  if (obs.busyElapsedSec !== undefined) {
    if (obs.busyElapsedSec.length !== obs.agentsBusy)
      throw new RangeError(`busyElapsedSec has ${obs.busyElapsedSec.length} entries for ${obs.agentsBusy} busy agents`);
    for (const e of obs.busyElapsedSec) if (!(e >= 0) || !Number.isFinite(e)) throw new RangeError(`busyElapsedSec entries must be >= 0 (got ${e})`);
  }
}

/** Position (1-based) a callback arriving now would take: behind everything waiting. */
export function arrivalPosition(obs: QueueObservation): number {
  return obs.waiting + 1;
}

export function checkPosition(position: number): void {
  if (!Number.isInteger(position) || position < 1) throw new RangeError(`position must be an integer >= 1 (got ${position})`);
}
