/**
 * Queue order. Each service is one virtual queue ordered by a virtual start time: when the
 * customer asked to be served (the request time of an immediate callback, the desired time of a
 * scheduled one), moved earlier by `priorityStepSec` per priority point.
 *
 * Why this is fair: priority buys a fixed, bounded head start, never an absolute place. A callback
 * of priority p overtakes only callers who started less than p × step before it; anyone who has
 * waited longer than that stays ahead, so nothing starves, and equal priorities are served strictly
 * in arrival order. A retried callback keeps its original score, so a busy line does not send the
 * customer to the back. Ties break on the callback id (UUIDv7: creation order).
 */
export interface QueueOrderInput {
  scheduled: boolean;
  createdAtMs: number;
  desiredAtMs: number;
  priority: number;
}

/** Priority is clamped so that a client cannot buy more than a day's head start. */
export const MAX_PRIORITY_ADVANCE_MS = 24 * 60 * 60 * 1000;

export function queueScore(c: QueueOrderInput, priorityStepSec: number): number {
  const start = c.scheduled ? c.desiredAtMs : c.createdAtMs;
  const advance = Math.max(-MAX_PRIORITY_ADVANCE_MS, Math.min(MAX_PRIORITY_ADVANCE_MS, c.priority * priorityStepSec * 1000));
  return start - advance;
}

/** The priority step of a service whose options say none (the option's own default). */
export const DEFAULT_PRIORITY_STEP_SEC = 60;

/** A stored callback's queue fields, as the engine reads them. */
export interface QueuedCallback {
  scheduled: boolean;
  createdAt: Date;
  desiredAt: Date;
  priority: number;
}

/**
 * The queue score of a stored callback with its service's priority step (undefined: the service
 * is gone, and the default step applies), as when it joined its queue. The engine, the hot-state
 * rebuild and `ges recover` all score through this, so a callback keeps its place whoever puts it back.
 */
export function callbackQueueScore(c: QueuedCallback, priorityStepSec: number | undefined): number {
  return queueScore(
    { scheduled: c.scheduled, createdAtMs: c.createdAt.getTime(), desiredAtMs: c.desiredAt.getTime(), priority: c.priority },
    priorityStepSec ?? DEFAULT_PRIORITY_STEP_SEC,
  );
}
