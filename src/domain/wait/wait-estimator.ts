import { mode1Wait } from './mode1-estimator.ts';
import { mode2Wait } from './mode2-estimator.ts';
import { mode3Wait } from './mode3-estimator.ts';
import { naiveWait } from './naive-estimator.ts';
import { arrivalPosition, type QueueObservation } from './queue-observation.ts';
import type { WaitEstimate } from './wait-estimate.ts';

/**
 * One entry point over the estimators, for the engine and the API. The wait estimated is always the
 * customer's: from the moment the callback is QUEUED until an agent is connected to them.
 */

/** Modes a client may ask for (`mode` of GET /estimated-wait-time, ges-api.md §1.7). */
export const API_WAIT_MODES = Object.freeze(['mode1', 'mode2', 'mode3'] as const);
export type ApiWaitMode = (typeof API_WAIT_MODES)[number];

/** Every estimator, the baseline included (benchmarks and the estimator-error tally use it). */
export const WAIT_MODES = Object.freeze(['mode1', 'mode2', 'mode3', 'naive'] as const);
export type WaitMode = (typeof WAIT_MODES)[number];

/** The reference's default when `mode` is absent. */
export const DEFAULT_API_WAIT_MODE: ApiWaitMode = 'mode2';

const ESTIMATORS: Readonly<Record<WaitMode, (obs: QueueObservation, position: number) => WaitEstimate>> = Object.freeze({
  mode1: mode1Wait,
  mode2: mode2Wait,
  mode3: mode3Wait,
  naive: naiveWait,
});

/**
 * Wait of the callback at `position` (1-based among the QUEUED callbacks of the queue, in the order
 * they will be served): what retrieve shows as `estimatedWaitTime` next to `positionInQueue`.
 */
export function callbackWait(mode: WaitMode, obs: QueueObservation, position: number): WaitEstimate {
  return ESTIMATORS[mode](obs, position);
}

/**
 * Wait of a callback that would be queued now (behind every waiting one): the queue's EWT, used by
 * GET /estimated-wait-time, queue-status and the ExpectedWaitTime statistic.
 */
export function queueWait(mode: WaitMode, obs: QueueObservation): WaitEstimate {
  return ESTIMATORS[mode](obs, arrivalPosition(obs));
}

/** The API's `mode` parameter: absent → mode2; anything but mode1/2/3 → undefined (the caller answers 400). */
export function parseApiWaitMode(value: string | undefined): ApiWaitMode | undefined {
  if (value === undefined || value === '') return DEFAULT_API_WAIT_MODE;
  // Matched without regard to case (MODE2 is mode2), as every enum of the API.
  const lower = value.trim().toLowerCase();
  return (API_WAIT_MODES as readonly string[]).includes(lower) ? (lower as ApiWaitMode) : undefined;
}
