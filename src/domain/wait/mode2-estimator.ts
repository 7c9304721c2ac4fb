import { throughputPerSec } from './mode1-estimator.ts';
import { checkObservation, checkPosition, type QueueObservation } from './queue-observation.ts';
import { estimated, noEstimate, type WaitEstimate } from './wait-estimate.ts';

/**
 * EWT mode2, GES's default (ges-api.md §1.7): mode1 corrected by the agents who can take the queue.
 *
 * - No agent logged in: no estimate ("no agents logged in", the API's -1), whatever the history.
 * - The throughput of the window was produced by the agents logged in back then (recorded with each
 *   interaction); it is rescaled to the agents logged in now, so a team that doubled halves the wait.
 * - Callbacks a free agent can take right now (position <= free agents) wait nothing; the others
 *   wait for as many callbacks to leave the queue as there are ahead of them beyond the free agents.
 *
 * Still a throughput model: it knows nothing of handle times, the time to reach a customer or how
 * far into their calls the busy agents are. Mode3 does.
 */
export function mode2Wait(obs: QueueObservation, position: number): WaitEstimate {
  checkObservation(obs);
  checkPosition(position);
  if (obs.agentsLoggedIn === 0) return noEstimate('NO_AGENTS');
  const perSec = throughputPerSec(obs);
  if (perSec === undefined) return noEstimate('NO_HISTORY');
  const recent = obs.measures.recent;
  const agentsThen = recent.reduce((s, i) => s + i.agentsLoggedIn, 0) / recent.length;
  // A window recorded with no agents (an engine that did not know) cannot be rescaled: keep it as is.
  const perSecNow = agentsThen > 0 ? (perSec * obs.agentsLoggedIn) / agentsThen : perSec;
  const pending = Math.max(0, position - obs.agentsFree);
  return estimated(pending / perSecNow);
}
