import { WAIT_MODES, type WaitMode } from './wait-estimator.ts';

/**
 * How wrong each wait estimator has been: for every callback that reached an agent, the wait
 * predicted when it was queued against the wait it had. Three sums per mode, so a node keeps it for
 * free, nodes can merge theirs (sums add up) and a benchmark can compare modes on the same traffic.
 *
 * Named a tally, not an error, because it is the statistical error of an estimate, not a thrown one.
 */

export interface EstimatorErrorSums {
  readonly count: number;
  /** Σ |predicted - actual|, seconds. */
  readonly absSum: number;
  /** Σ (predicted - actual), seconds: positive when the mode over-promises waiting. */
  readonly signedSum: number;
}

export interface EstimatorErrorSummary {
  readonly count: number;
  /** Mean absolute error, seconds; undefined without pairs. */
  readonly meanAbsoluteError: number | undefined;
  /** Mean error (bias), seconds: > 0 predicts longer waits than happen; undefined without pairs. */
  readonly meanError: number | undefined;
}

const ZERO: EstimatorErrorSums = Object.freeze({ count: 0, absSum: 0, signedSum: 0 });

export class EstimatorErrorTally {
  readonly #sums = new Map<WaitMode, EstimatorErrorSums>();

  /** Adds one (predicted, actual) pair in seconds. Non-finite values are refused: they would poison the sums. */
  record(mode: WaitMode, predictedSec: number, actualSec: number): this {
    if (!Number.isFinite(predictedSec) || !Number.isFinite(actualSec)) {
      throw new RangeError(`estimator error needs finite seconds (got predicted ${predictedSec}, actual ${actualSec})`);
    }
    const s = this.sums(mode);
    const diff = predictedSec - actualSec;
    this.#sums.set(mode, { count: s.count + 1, absSum: s.absSum + Math.abs(diff), signedSum: s.signedSum + diff });
    return this;
  }

  /** Adds another tally's pairs to this one (another node, another run). */
  merge(other: EstimatorErrorTally | Readonly<Partial<Record<WaitMode, EstimatorErrorSums>>>): this {
    const sums = other instanceof EstimatorErrorTally ? other.toJSON() : other;
    for (const mode of WAIT_MODES) {
      const o = sums[mode];
      if (o === undefined || o.count === 0) continue;
      const s = this.sums(mode);
      this.#sums.set(mode, { count: s.count + o.count, absSum: s.absSum + o.absSum, signedSum: s.signedSum + o.signedSum });
    }
    return this;
  }

  sums(mode: WaitMode): EstimatorErrorSums {
    return this.#sums.get(mode) ?? ZERO;
  }

  summary(mode: WaitMode): EstimatorErrorSummary {
    const { count, absSum, signedSum } = this.sums(mode);
    return {
      count,
      meanAbsoluteError: count === 0 ? undefined : absSum / count,
      meanError: count === 0 ? undefined : signedSum / count,
    };
  }

  /** Summaries of the modes that have pairs. */
  report(): Partial<Record<WaitMode, EstimatorErrorSummary>> {
    const out: Partial<Record<WaitMode, EstimatorErrorSummary>> = {};
    for (const mode of WAIT_MODES) if (this.sums(mode).count > 0) out[mode] = this.summary(mode);
    return out;
  }

  /** The raw sums (what merge takes back), e.g. to ship to another node. */
  toJSON(): Partial<Record<WaitMode, EstimatorErrorSums>> {
    const out: Partial<Record<WaitMode, EstimatorErrorSums>> = {};
    for (const [mode, s] of this.#sums) out[mode] = { ...s };
    return out;
  }
}
