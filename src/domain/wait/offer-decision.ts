import { apiWaitTime, type NoEstimateReason, type WaitEstimate } from './wait-estimate.ts';

/**
 * The queue-status answer (ges-api.md §1.6): the queue's EWT and whether a client should offer an
 * immediate and/or a scheduled callback right now.
 */

export interface OfferInput {
  /** The service's immediateEnabled option. */
  readonly immediateEnabled: boolean;
  /** The service's scheduledEnabled option. */
  readonly scheduledEnabled: boolean;
  /**
   * Seconds until the current opening of the service's business hours closes, 0 when closed now:
   * exactly what open-for answers (openForSeconds in src/domain/calendar/business-hours.ts).
   */
  readonly secondsUntilClose: number;
  /** The queue's EWT for a callback queued now (queueWait with mode3). */
  readonly estimate: WaitEstimate;
}

export interface QueueStatusDecision {
  /** Seconds, or -1 when no estimate exists. */
  readonly ewt: number;
  readonly offerImmediateCallback: boolean;
  readonly offerScheduledCallback: boolean;
  /** Why ewt is -1 (for logs and the console; not part of GES's answer). */
  readonly reason?: NoEstimateReason;
}

/**
 * - offerScheduledCallback mirrors scheduledEnabled: a scheduled callback is booked against the
 *   calendar and capacity, not against the current wait.
 * - offerImmediateCallback needs immediateEnabled, the office open now, and the callback forecast to
 *   reach an agent before it closes: EWT < seconds until close. A callback that would still be
 *   waiting at closing time is a broken promise, so it is not offered.
 * - ewt -1 keeps GES's two meanings: with no agent logged in the immediate offer is false (nobody
 *   would call back); with no interactions yet nothing can be forecast, and the offer stays true
 *   (when enabled and open) rather than refusing every first customer of a new queue.
 */
export function decideQueueStatus(input: OfferInput): QueueStatusDecision {
  if (!(input.secondsUntilClose >= 0)) throw new RangeError(`secondsUntilClose must be >= 0 (got ${input.secondsUntilClose})`);
  const open = input.secondsUntilClose > 0;
  const offerScheduledCallback = input.scheduledEnabled;
  const { estimatedWaitTime } = apiWaitTime(input.estimate);
  const reason = input.estimate.reason;
  if (reason !== undefined) {
    const offerImmediateCallback = reason === 'NO_HISTORY' && input.immediateEnabled && open;
    return { ewt: -1, offerImmediateCallback, offerScheduledCallback, reason };
  }
  // Compared in the whole seconds the client is shown, so the answer agrees with its own ewt.
  const offerImmediateCallback = input.immediateEnabled && open && estimatedWaitTime < input.secondsUntilClose;
  return { ewt: estimatedWaitTime, offerImmediateCallback, offerScheduledCallback };
}
