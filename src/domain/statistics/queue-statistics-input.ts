import type { QueueObservation } from '../wait/queue-observation.ts';

/**
 * What the engine hands over to answer statistics about one callback queue (service): the wait
 * estimators' observation plus the counts of callbacks per state it keeps anyway. Every statistic
 * GES serves is computed from these numbers alone (docs/STATISTICS.md), so answering costs no query.
 */
export interface QueueStatisticsInput {
  readonly observation: QueueObservation;
  /** SCHEDULED callbacks whose desired time has not come yet. */
  readonly scheduled: number;
  /** Callbacks in ROUTING (looking for an agent or being dialed). */
  readonly routing: number;
  /** Callbacks in PROCESSING (the customer reached, the call with an agent going on). */
  readonly processing: number;
  /** Callbacks COMPLETED, whatever the reason, since midnight in the service's time zone. */
  readonly completedToday: number;
  /** queuedAt (epoch ms) of the callback that has been QUEUED longest, if any is waiting. */
  readonly oldestQueuedAt?: number;
  /**
   * How far off today's predictions were: the mean absolute difference between the wait predicted as
   * each callback joined the queue and the wait it really had, over callbacks connected to an agent
   * at their first attempt since midnight (docs/ESTIMATED-WAIT.md, "Measuring the error").
   */
  readonly estimatorError?: { readonly meanAbsSec: number; readonly count: number };
}
