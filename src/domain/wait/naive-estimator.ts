import { ewmaMean } from './ewma.ts';
import { checkObservation, checkPosition, type QueueObservation } from './queue-observation.ts';
import { estimated, noEstimate, type WaitEstimate } from './wait-estimate.ts';

/**
 * The textbook baseline: position × average handle time ÷ agents. Not offered by the API; it is the
 * yardstick mode3 is measured against in tests and benchmarks (docs/ESTIMATED-WAIT.md). It ignores
 * free agents, how far the busy ones are into their calls, dial failures and the time to reach the
 * customer.
 */
export function naiveWait(obs: QueueObservation, position: number): WaitEstimate {
  checkObservation(obs);
  checkPosition(position);
  if (obs.agentsLoggedIn === 0) return noEstimate('NO_AGENTS');
  const handleSec = ewmaMean(obs.measures.handleSec);
  if (handleSec === undefined) return noEstimate('NO_HISTORY');
  return estimated((position * handleSec) / obs.agentsLoggedIn);
}
