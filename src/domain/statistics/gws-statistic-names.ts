import type { StatisticName, StatisticObjectType } from './statistic-catalog.ts';

/**
 * Statistic and object-type names of the Genesys Stat Server / GWS statistics API that operators'
 * dashboards already ask GES for (docs/STATISTICS.md, "GWS names"). A name GES can compute exactly is
 * an alias of one of its own statistics and is answered under the name asked; a name that needs
 * what GES never sees (inbound calls, agents' other media) is refused with the reason, so nobody
 * mistakes a callback count for a call count.
 */

/** GWS name -> the GES statistic that computes the same quantity for a callback queue. */
export const GWS_STATISTIC_ALIASES: Readonly<Record<string, StatisticName>> = Object.freeze({
  CurrNumberWaitingCalls: 'CurrentWaitingCallbacks',
  CurrMaxCallWaitingTime: 'CurrentMaxWaitTime',
  CurrMaxWaitingTime: 'CurrentMaxWaitTime',
  AverageHandlingTime: 'AverageHandleTime',
  CurrNumberReadyStatuses: 'AgentsAvailable',
  CurrentNumberReadyStatuses: 'AgentsAvailable',
  TotalNumberLoggedInAgents: 'AgentsLoggedIn',
  CurrNumberLoggedInAgents: 'AgentsLoggedIn',
});

/** GWS names GES cannot compute, with why: inbound calls never pass through GES. */
export const GWS_STATISTICS_NOT_COMPUTABLE: Readonly<Record<string, string>> = Object.freeze({
  TotalNumberInboundCalls: 'counts inbound calls, which never pass through GES',
  TotalNumberInboundAbandoned: 'counts abandoned inbound calls, which never pass through GES',
  TotalNumberCallsAnswered: 'counts answered inbound calls, which never pass through GES',
  TotalNumberCallsAbandoned: 'counts abandoned inbound calls, which never pass through GES',
  CurrNumberCallsInProgress: 'counts inbound calls in progress, which never pass through GES',
  ServiceFactor: 'is computed by Stat Server from inbound calls; use ServiceLevel for callbacks',
});

/** Stat Server object types that mean the ones GES answers for. */
export const GWS_OBJECT_TYPE_ALIASES: Readonly<Record<string, StatisticObjectType>> = Object.freeze({
  queue: 'Queue',
  groupqueues: 'Queue',
  agentgroup: 'AgentGroup',
  groupagents: 'AgentGroup',
});
