/**
 * An exponentially weighted moving average kept as two numbers, so the engine can hold one per
 * measured quantity (handle time, time to reach, dial failures) and update it in O(1).
 *
 * Why `sum` and `weight` rather than the mean alone: a plain EWMA started at 0 is dragged towards 0
 * for its first few dozen samples (a queue's first handle time of 300 s would read as 18 s). Dividing
 * by the decayed weight removes that start-up bias exactly, so the first sample is the mean, and the
 * average slides towards an exponential window as samples accumulate. `weight === 0` means "no
 * sample yet", which the estimators turn into "no estimate" instead of a made-up number.
 */
export interface Ewma {
  /** Decayed sum of samples, each scaled by alpha when it arrived. */
  readonly sum: number;
  /** Decayed sum of alpha: 1 - (1 - alpha)^n after n samples. */
  readonly weight: number;
}

export const EMPTY_EWMA: Ewma = Object.freeze({ sum: 0, weight: 0 });

/**
 * Events an average looks back over, about: alpha = 2 / (N + 1) gives the exponential average the
 * centre of mass of a plain average of the last N events. Not the 32 of mode1's window: handle times
 * vary a lot (a standard deviation of half the mean is common) and a dial either fails or not, so 32
 * samples leave the averages ±10 % noisy, and a long queue's estimate inherits the whole error. On
 * six simulated days per team size, 128 cut mode3's mean absolute error against 32 by 15 % (3
 * agents) to 33 % (30 agents) (docs/ESTIMATED-WAIT.md), while still following a lasting change
 * within about 128 calls (86 % of the way): a quarter of an hour for a team of 30 agents.
 */
export const EWMA_EVENTS = 128;

export const EWMA_ALPHA = 2 / (EWMA_EVENTS + 1);

/** The average after one more sample. Non-finite samples are ignored: one bad event must not poison the mean. */
export function ewmaAdd(avg: Ewma, sample: number, alpha: number = EWMA_ALPHA): Ewma {
  if (!Number.isFinite(sample)) return avg;
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`EWMA alpha must be in (0, 1] (got ${alpha})`);
  return { sum: (1 - alpha) * avg.sum + alpha * sample, weight: (1 - alpha) * avg.weight + alpha };
}

/** The mean, or undefined before the first sample. */
export function ewmaMean(avg: Ewma): number | undefined {
  return avg.weight > 0 ? avg.sum / avg.weight : undefined;
}
