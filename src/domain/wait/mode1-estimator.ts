import { ewmaMean } from './ewma.ts';
import type { CompletedInteraction } from './queue-measures.ts';
import { checkObservation, checkPosition, type QueueObservation } from './queue-observation.ts';
import { estimated, noEstimate, type WaitEstimate } from './wait-estimate.ts';

/**
 * EWT mode1 (ges-api.md §1.7): throughput and pending count only, over the last 32 interactions,
 * blind to the agents. It is the classic router estimate, kept because GES clients may ask for it by
 * name; it is wrong whenever staffing changed since those interactions, or when the queue was idle
 * (the measured throughput is then the arrival rate, not what the agents could do).
 *
 * wait = position / callbacks leaving the queue per second
 */
export function mode1Wait(obs: QueueObservation, position: number): WaitEstimate {
  checkObservation(obs);
  checkPosition(position);
  const perSec = throughputPerSec(obs);
  if (perSec === undefined) return noEstimate('NO_HISTORY');
  return estimated(position / perSec);
}

/** A dial failure rate above this is taken as this: a queue where nobody answers still drains. */
const MAX_FAILURE_RATE = 0.95;

/**
 * Callbacks leaving the queue per second, from the history window, or undefined with no history.
 *
 * The window holds connected callbacks, but a callback leaves the queue when it is dialed, and a good
 * share of dials do not reach the customer: the connect rate is divided by the measured share of
 * dials that connect, or with 30 % of dials failing the queue would seem to drain 30 % slower than
 * it does.
 *
 * The rate is read from the completions (connect + handle time), which is the order the window is
 * kept in: the 32 latest completions span a short, recent interval, whereas their connects can
 * reach back to a long call connected long before the others. In steady state calls complete as
 * fast as they connect. One interaction alone gives no interval; it is measured up to now (at least
 * a second, or the rate would be infinite just after it).
 */
export function throughputPerSec(obs: QueueObservation): number | undefined {
  const recent = obs.measures.recent;
  const first = recent[0];
  const last = recent[recent.length - 1];
  if (first === undefined || last === undefined) return undefined;
  const firstEnd = completedAt(first);
  const lastEnd = completedAt(last);
  const connectsPerSec =
    recent.length >= 2 && lastEnd > firstEnd ? (recent.length - 1) / ((lastEnd - firstEnd) / 1000) : recent.length / Math.max(1, (obs.now - firstEnd) / 1000);
  const failure = Math.min(MAX_FAILURE_RATE, ewmaMean(obs.measures.dialFailure) ?? 0);
  return connectsPerSec / (1 - failure);
}

function completedAt(i: CompletedInteraction): number {
  return i.connectedAt + i.handleSec * 1000;
}
