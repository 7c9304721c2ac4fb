/**
 * The answer of every wait estimator: seconds, or no estimate with the reason. The API turns "no
 * estimate" into -1 plus a message (ges-api.md §1.6, §1.7), and queue-status needs to know *why*:
 * -1 means "no interactions yet" when immediate callbacks are still offered, "no agents logged in"
 * when they are not.
 */

export const NO_ESTIMATE_REASONS = Object.freeze({
  NO_AGENTS: 'no agents logged in',
  NO_HISTORY: 'no interactions on the queue yet',
} as const);

export type NoEstimateReason = keyof typeof NO_ESTIMATE_REASONS;

export type WaitEstimate =
  { readonly seconds: number; readonly reason?: undefined } | { readonly seconds: undefined; readonly reason: NoEstimateReason; readonly message: string };

export function estimated(seconds: number): WaitEstimate {
  // Negative or NaN would be an estimator bug; the API must never show a wait below 0.
  if (!(seconds >= 0)) throw new RangeError(`a wait estimate must be >= 0 (got ${seconds})`);
  return { seconds };
}

export function noEstimate(reason: NoEstimateReason): WaitEstimate {
  return { seconds: undefined, reason, message: NO_ESTIMATE_REASONS[reason] };
}

/**
 * The estimate as the API shows it: whole seconds, or -1 with the message. Rounded to the nearest
 * second: GES clients compare it with thresholds in seconds, and sub-second precision would only
 * advertise accuracy the estimate does not have.
 */
export function apiWaitTime(estimate: WaitEstimate): { estimatedWaitTime: number; message?: string } {
  if (estimate.seconds === undefined) return { estimatedWaitTime: -1, message: estimate.message };
  return { estimatedWaitTime: Math.round(estimate.seconds) };
}
