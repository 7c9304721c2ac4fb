/**
 * How much longer a busy agent will stay busy, given how long they have been on the interaction.
 *
 * Handle times are right-skewed (most calls short, a few very long), so "mean handle time minus
 * elapsed" is wrong both ways: it goes negative for a long call, and it underrates how long a call
 * that is already long will still last. The mean residual life E[H - a | H > a] is read from the
 * recent handle times themselves (no distribution assumed): the samples longer than the elapsed time
 * a, minus a, averaged.
 *
 * Few samples outlast a long call, so the empirical value is shrunk towards a prior, the equilibrium
 * residual E[H²] / (2 E[H]): the expected remaining time of a call caught at a random moment. It is
 * also what an agent gets when the engine does not say how long they have been busy.
 */

/** Weight of the prior, in samples: one outlasting sample already counts as much as the prior. */
const PRIOR_WEIGHT = 1;

/** E[H²] / (2 E[H]) of the samples; `fallbackMeanSec` (taken as exponential: residual = mean) without samples. */
export function equilibriumResidualSec(samples: readonly number[], fallbackMeanSec: number): number {
  let sum = 0;
  let sumSq = 0;
  for (const h of samples) {
    sum += h;
    sumSq += h * h;
  }
  if (samples.length === 0 || !(sum > 0)) return fallbackMeanSec;
  return sumSq / (2 * sum);
}

/** Expected remaining seconds of an interaction `elapsedSec` old, from recent handle-time samples. */
export function meanResidualSec(samples: readonly number[], elapsedSec: number, fallbackMeanSec: number): number {
  const prior = equilibriumResidualSec(samples, fallbackMeanSec);
  let survivors = 0;
  let remaining = 0;
  for (const h of samples) {
    if (h > elapsedSec) {
      survivors += 1;
      remaining += h - elapsedSec;
    }
  }
  return (remaining + PRIOR_WEIGHT * prior) / (survivors + PRIOR_WEIGHT);
}
