import { ewmaMean } from '../wait/ewma.ts';
import { recentWaitsSec } from '../wait/queue-measures.ts';
import { queueWait } from '../wait/wait-estimator.ts';
import type { QueueStatisticsInput } from './queue-statistics-input.ts';

/**
 * The statistics GES answers on POST /statistics/operations/get-statistic-ex (ges-api.md §1.9).
 * GES proxied these to a Genesys Stat Server; ours are computed from what the callback engine
 * knows about each queue, so the list is limited to what it can know exactly. docs/STATISTICS.md
 * mirrors this table.
 *
 * Object types: `Queue` (objectId = the callback service's name) for everything; `AgentGroup`
 * (objectId = the service's name too: the agents who take that queue) for the agent counts, the
 * object type a Stat Server client would use for them. Single agents (`Agent`) are not offered: the
 * engine counts agents per queue but does not keep per-agent history.
 */

export const STATISTIC_OBJECT_TYPES = Object.freeze(['Queue', 'AgentGroup'] as const);
export type StatisticObjectType = (typeof STATISTIC_OBJECT_TYPES)[number];

export type StatisticUnit = 'count' | 'seconds' | 'percent';

/** The `value` object of one answered statistic. -1 with a message when it cannot be known yet. */
export interface StatisticValue {
  readonly value: number;
  readonly unit: StatisticUnit;
  readonly message?: string;
}

export interface StatisticDefinition {
  readonly objectTypes: readonly StatisticObjectType[];
  readonly unit: StatisticUnit;
  readonly description: string;
  readonly compute: (input: QueueStatisticsInput, now: number) => Omit<StatisticValue, 'unit'>;
}

/** Waits at or below this count as answered "in service level". A callback is a promise to call soon; a minute is the usual target. */
export const SERVICE_LEVEL_THRESHOLD_SEC = 60;

const QUEUE: readonly StatisticObjectType[] = Object.freeze(['Queue']);
const AGENTS: readonly StatisticObjectType[] = Object.freeze(['Queue', 'AgentGroup']);

/** Seconds rounded to a tenth: enough for any dashboard, and stable in tests. */
const tenths = (x: number): number => Math.round(x * 10) / 10;
const noHistory = { value: -1, message: 'no interactions on the queue yet' } as const;

export const STATISTICS = Object.freeze({
  CurrentWaitingCallbacks: {
    objectTypes: QUEUE,
    unit: 'count',
    description: 'Callbacks QUEUED: waiting for an agent now.',
    compute: (i) => ({ value: i.observation.waiting }),
  },
  CurrentScheduledCallbacks: {
    objectTypes: QUEUE,
    unit: 'count',
    description: 'Callbacks SCHEDULED for a later time.',
    compute: (i) => ({ value: i.scheduled }),
  },
  CurrentRoutingCallbacks: {
    objectTypes: QUEUE,
    unit: 'count',
    description: 'Callbacks ROUTING: an agent being found or the customer being dialed.',
    compute: (i) => ({ value: i.routing }),
  },
  CurrentProcessingCallbacks: {
    objectTypes: QUEUE,
    unit: 'count',
    description: 'Callbacks PROCESSING: the customer reached and with an agent.',
    compute: (i) => ({ value: i.processing }),
  },
  CurrentMaxWaitTime: {
    objectTypes: QUEUE,
    unit: 'seconds',
    description: 'How long the longest-waiting QUEUED callback has waited so far; 0 when none waits.',
    compute: (i, now) => ({ value: i.oldestQueuedAt === undefined ? 0 : tenths(Math.max(0, now - i.oldestQueuedAt) / 1000) }),
  },
  ExpectedWaitTime: {
    objectTypes: QUEUE,
    unit: 'seconds',
    description: 'Estimated wait of a callback queued now (EWT mode3, docs/ESTIMATED-WAIT.md); -1 with a message when none exists.',
    compute: (i) => {
      const estimate = queueWait('mode3', i.observation);
      return estimate.seconds === undefined ? { value: -1, message: estimate.message } : { value: Math.round(estimate.seconds) };
    },
  },
  AverageHandleTime: {
    objectTypes: QUEUE,
    unit: 'seconds',
    description: 'Talk plus wrap-up per connected callback, averaged over about the last 128.',
    compute: (i) => {
      const mean = ewmaMean(i.observation.measures.handleSec);
      return mean === undefined ? noHistory : { value: tenths(mean) };
    },
  },
  AverageWaitTime: {
    objectTypes: QUEUE,
    unit: 'seconds',
    description: 'From QUEUED to connected with an agent, averaged over the last 32 connected callbacks.',
    compute: (i) => {
      const waits = recentWaitsSec(i.observation.measures);
      return waits.length === 0 ? noHistory : { value: tenths(waits.reduce((s, w) => s + w, 0) / waits.length) };
    },
  },
  ServiceLevel: {
    objectTypes: QUEUE,
    unit: 'percent',
    description: `Share of the last 32 connected callbacks that waited ${SERVICE_LEVEL_THRESHOLD_SEC} s or less, in percent.`,
    compute: (i) => {
      const waits = recentWaitsSec(i.observation.measures);
      if (waits.length === 0) return noHistory;
      return { value: tenths((100 * waits.filter((w) => w <= SERVICE_LEVEL_THRESHOLD_SEC).length) / waits.length) };
    },
  },
  DialSuccessRate: {
    objectTypes: QUEUE,
    unit: 'percent',
    description: 'Share of dials that reached the customer, in percent, averaged over about the last 128 dials.',
    compute: (i) => {
      const failure = ewmaMean(i.observation.measures.dialFailure);
      return failure === undefined ? { value: -1, message: 'no dials on the queue yet' } : { value: tenths(100 * (1 - failure)) };
    },
  },
  EstimatedWaitTimeError: {
    objectTypes: QUEUE,
    unit: 'seconds',
    description:
      "Mean absolute error of the wait predicted as each callback joined the queue against the wait it had, over callbacks connected at their first attempt since midnight in the service's time zone.",
    compute: (i) =>
      i.estimatorError === undefined || i.estimatorError.count === 0
        ? { value: -1, message: 'no predicted callback connected today' }
        : { value: tenths(i.estimatorError.meanAbsSec) },
  },
  CallbacksCompletedToday: {
    objectTypes: QUEUE,
    unit: 'count',
    description: "Callbacks COMPLETED (any reason) since midnight in the service's time zone.",
    compute: (i) => ({ value: i.completedToday }),
  },
  AgentsLoggedIn: {
    objectTypes: AGENTS,
    unit: 'count',
    description: 'Agents logged in who take this queue.',
    compute: (i) => ({ value: i.observation.agentsLoggedIn }),
  },
  AgentsAvailable: {
    objectTypes: AGENTS,
    unit: 'count',
    description: 'Of those, agents ready and idle.',
    compute: (i) => ({ value: i.observation.agentsFree }),
  },
  AgentsBusy: {
    objectTypes: AGENTS,
    unit: 'count',
    description: 'Of those, agents on a callback of this queue or in its wrap-up.',
    compute: (i) => ({ value: i.observation.agentsBusy }),
  },
} satisfies Record<string, StatisticDefinition>);

export type StatisticName = keyof typeof STATISTICS;

export const STATISTIC_NAMES: readonly StatisticName[] = Object.freeze(Object.keys(STATISTICS) as StatisticName[]);

export function isStatisticName(name: string): name is StatisticName {
  return Object.hasOwn(STATISTICS, name);
}
