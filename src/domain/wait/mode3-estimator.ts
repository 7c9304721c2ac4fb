import { measuredRates } from './queue-measures.ts';
import { checkObservation, checkPosition, type QueueObservation } from './queue-observation.ts';
import { equilibriumResidualSec, meanResidualSec } from './residual-service.ts';
import { estimated, noEstimate, type WaitEstimate } from './wait-estimate.ts';

/**
 * EWT mode3, GES's best estimate: a queue-position model over the agents' own timelines
 * (docs/ESTIMATED-WAIT.md explains it with an example).
 *
 * Erlang C answers "how long does a *random* arrival wait on average in steady state"; we know
 * better than a random arrival: the exact position, which agents are free, and how far each busy
 * agent is into their call. So instead of a steady-state formula, the model plays the next agent
 * turns forward:
 *
 * 1. Each agent becomes free for the next callback at a time r_i: 0 if free now; the expected
 *    remaining handle time (talk + wrap-up, mean residual life given the elapsed time) if busy on a
 *    call; if held for a callback being dialed, what that dial will still cost (see below); a full
 *    handle time for an agent on something else (not ready, another queue).
 * 2. After that, each agent frees up again every A seconds on average, A being the expected agent
 *    time one callback from the queue costs: with dial failure rate f, time to reach T, failure time F and
 *    handle time H, A = (1 - f)(T + H) + f·F. A failed dial gives its agent back after F seconds,
 *    which is why a queue with many unreachable customers moves faster than "position × AHT".
 * 3. The callback at position p gets the p-th of these agent turns, merged over all agents, at time
 *    D (see agentTurnAt for how the race between agents is counted); it is then dialed, and reaches
 *    the customer T seconds later: wait = D + T.
 *
 * All inputs are exponentially weighted averages over about the last 128 events (see ewma.ts), so
 * the estimate follows lasting shifts in handle time or reachability and is not jerked around by one
 * odd call. test/wait-estimators.test.ts measures the model against simulated traffic.
 */
export function mode3Wait(obs: QueueObservation, position: number): WaitEstimate {
  checkObservation(obs);
  checkPosition(position);
  const agents = obs.agentsLoggedIn;
  if (agents === 0) return noEstimate('NO_AGENTS');
  const rates = measuredRates(obs.measures);
  const handle = rates.handleSec;
  if (handle === undefined) return noEstimate('NO_HISTORY');
  const reach = rates.reachSec ?? 0;
  const failure = rates.failureRate ?? 0;
  const failTime = rates.failSec ?? 0;
  const agentFirst = obs.agentHeldWhileDialing ?? true;

  const samples = obs.measures.recent.map((i) => i.handleSec);
  const turnSec = agentFirst ? (1 - failure) * (reach + handle) + failure * failTime : (1 - failure) * handle;

  const starts: number[] = [];
  for (let i = 0; i < obs.agentsFree; i += 1) starts.push(0);
  if (obs.busyElapsedSec !== undefined) {
    for (const elapsed of obs.busyElapsedSec) starts.push(meanResidualSec(samples, elapsed, handle));
  } else {
    const residual = equilibriumResidualSec(samples, handle);
    for (let i = 0; i < obs.agentsBusy; i += 1) starts.push(residual);
  }
  const unaccounted = agents - obs.agentsFree - obs.agentsBusy;
  // Agent-first: an in-flight callback holds one of the remaining agents. A dial caught in progress is
  // more likely a long one (sampled in proportion to its length), and the long ones are mostly those
  // ringing out unanswered: it connects with probability (1-f)T / ((1-f)T + fF), not 1-f. Half of
  // its dial is over on average; it then connects (rest of the reach, a handle) or fails (rest of F).
  const holding = agentFirst ? Math.min(obs.inFlight, unaccounted) : 0;
  const dialing = (1 - failure) * reach + failure * failTime;
  const connects = dialing > 0 ? ((1 - failure) * reach) / dialing : 1 - failure;
  const heldFor = connects * (reach / 2 + handle) + (1 - connects) * (failTime / 2);
  for (let i = 0; i < holding; i += 1) starts.push(heldFor);
  for (let i = 0; i < unaccounted - holding; i += 1) starts.push(handle);

  // Customer-first: in-flight callbacks have no agent yet; those that connect will need one first.
  const ahead = position - 1 + (agentFirst ? 0 : (1 - failure) * obs.inFlight);
  const turn = agentTurnAt(starts, turnSec, ahead + 1);
  return estimated(turn + reach);
}

/**
 * Expected time of the n-th agent turn (n may be fractional: an expected count). `starts` holds each
 * agent's expected time until their first turn (0: free now); after it, an agent offers a turn every
 * `everySec` on average.
 *
 * Each wait is treated as memoryless (exponential) around its mean, and the race between agents is
 * followed in expectation: the next turn comes after 1 / (sum of the agents' rates), and it is agent
 * i's first turn with probability proportional to i's rate, which moves that share of agent i to the
 * steady rate 1 / everySec. Why not simply "the n-th smallest expected start": with eight agents
 * each about two minutes from the end of their call, the first of them is free in about a quarter
 * of a minute, not two (the earliest of several random times comes well before their means). For one
 * agent, and for the steady state of many, the result is exact in the mean: start + (n - 1)·every,
 * and every / agents between turns. Exported for tests.
 */
export function agentTurnAt(starts: readonly number[], everySec: number, n: number): number {
  if (starts.length === 0) throw new RangeError('agentTurnAt needs at least one agent');
  if (!(n > 0)) throw new RangeError(`agentTurnAt: n must be > 0 (got ${n})`);
  const every = Math.max(everySec, 1e-3);
  const agents = starts.length;
  // Free agents give their turns now; after that they are on the steady rate like everyone else.
  const busyMeans = starts.filter((s) => s > 0);
  let left = n - (agents - busyMeans.length);
  if (left <= 0) return 0;
  // pending[i]: probability that busy agent i has not yet given its first turn.
  const pending = busyMeans.map(() => 1);
  let pendingSum = busyMeans.length;
  let t = 0;
  const rateNow = (): number => {
    let firstRate = 0;
    for (let i = 0; i < busyMeans.length; i += 1) firstRate += pending[i]! / busyMeans[i]!;
    return firstRate + (agents - pendingSum) / every;
  };
  // Follow the race while first turns are still likely, turn by turn (at most MAX_RACE_TURNS, so a
  // queue thousands deep costs no more than a short one); then the remaining turns come at the rate
  // reached, which is the steady agents / every once every first turn is given.
  for (let turns = 0; left > 0 && pendingSum > RACE_OVER && turns < MAX_RACE_TURNS; turns += 1) {
    const rate = rateNow();
    const step = Math.min(1, left);
    t += step / rate;
    left -= step;
    for (let i = 0; i < busyMeans.length; i += 1) {
      const done = Math.min(pending[i]!, (step * pending[i]!) / busyMeans[i]! / rate);
      pending[i] = pending[i]! - done;
      pendingSum -= done;
    }
  }
  if (left <= 0) return t;
  // Race over: the steady rate. Cut short by MAX_RACE_TURNS (an agent whose first turn is very far
  // off): the rate reached, which still counts that agent as slow.
  return t + left / (pendingSum > RACE_OVER ? rateNow() : agents / every);
}

/** Below this expected number of first turns still to come, the race is over. */
const RACE_OVER = 1e-3;
/** Turns followed one by one before the rest is extrapolated; far more than any team's first round. */
const MAX_RACE_TURNS = 2000;
