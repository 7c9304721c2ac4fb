/**
 * What happens when the simulator dials a customer: the mix of outcomes, and how a per-number
 * override bends it. Kept apart from the simulator so the mixing rule can be read (and tested) alone.
 */

export interface CustomerOutcomes {
  /** A person picks up (the call can then be connected to an agent). */
  answer: number;
  busy: number;
  /** Rings until the ring timeout. */
  noAnswer: number;
  /** Voicemail / answering machine, detected by the platform. */
  machine: number;
  /** The network refuses the number. */
  invalid: number;
  /** A fax machine answers (reported only with call progress detection on; else it counts as answered). Default 0. */
  fax?: number;
  /** The network plays a special information tone (number unassigned, disconnected, no circuit). Default 0. */
  sit?: number;
  /** The network or trunk fails to carry the call. Default 0. */
  networkFailure?: number;
}

export type CustomerOutcome = keyof CustomerOutcomes;

/** Typical of outbound callbacks: most customers asked for the call and pick up. */
export const DEFAULT_CUSTOMER_OUTCOMES: Readonly<CustomerOutcomes> = Object.freeze({
  answer: 0.7,
  busy: 0.1,
  noAnswer: 0.12,
  machine: 0.06,
  invalid: 0.02,
});

/** Fixed key order: the PRNG maps a draw to an outcome through it, so it is part of determinism. */
export const CUSTOMER_OUTCOME_KEYS: readonly CustomerOutcome[] = ['answer', 'busy', 'noAnswer', 'machine', 'invalid', 'fax', 'sit', 'networkFailure'];

/** Outcomes a mix may leave out (they came later): absent means never. A zero weight is skipped by the draw, so mixes without them draw as before. */
const OPTIONAL_OUTCOMES: ReadonlySet<CustomerOutcome> = new Set(['fax', 'sit', 'networkFailure']);

/** The probability of an outcome in a mix (0 for a later outcome the mix leaves out). */
export function weightOf(mix: Readonly<CustomerOutcomes>, key: CustomerOutcome): number {
  return mix[key] ?? 0;
}

/** Throws unless every probability is in [0, 1] and they sum to 1 (within rounding). */
export function validateCustomerOutcomes(outcomes: CustomerOutcomes, what = 'customers'): void {
  let sum = 0;
  for (const key of CUSTOMER_OUTCOME_KEYS) {
    const p = OPTIONAL_OUTCOMES.has(key) ? (outcomes[key] ?? 0) : outcomes[key];
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${what}.${key} must be a probability in [0, 1] (got ${String(p)})`);
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new RangeError(`${what} probabilities must sum to 1 (got ${sum})`);
}

/**
 * Applies a partial override to a base mix. The outcomes named in the override take exactly the
 * given probability; the others share what is left in their base proportions. So `{ busy: 1 }`
 * always gives busy, and `{ answer: 0.5 }` halves the answers while keeping the relative weight of
 * the failures. If the named outcomes already sum to 1 or more, the others get nothing and the named
 * ones are scaled to sum to 1.
 */
export function mixCustomerOutcomes(base: Readonly<CustomerOutcomes>, override: Partial<CustomerOutcomes> | undefined): CustomerOutcomes {
  if (override === undefined) return { ...base };
  let fixed = 0;
  let restBase = 0;
  for (const key of CUSTOMER_OUTCOME_KEYS) {
    const p = override[key];
    if (p === undefined) {
      restBase += weightOf(base, key);
    } else {
      if (!(p >= 0) || !Number.isFinite(p)) throw new RangeError(`perNumber override ${key} must be a probability >= 0 (got ${p})`);
      fixed += p;
    }
  }
  const mixed = { ...base };
  const remaining = Math.max(0, 1 - fixed);
  // A later outcome neither mix names stays out of the result (absent is never).
  const keys = CUSTOMER_OUTCOME_KEYS.filter((key) => !OPTIONAL_OUTCOMES.has(key) || base[key] !== undefined || override[key] !== undefined);
  for (const key of keys) {
    const p = override[key];
    if (p !== undefined) mixed[key] = fixed > 1 ? p / fixed : p;
    else mixed[key] = restBase > 0 ? (weightOf(base, key) / restBase) * remaining : 0;
  }
  // Named outcomes summing below 1 with nothing else to give the remainder to: scale them up.
  const total = keys.reduce((s, key) => s + weightOf(mixed, key), 0);
  if (!(total > 0)) throw new RangeError('perNumber override leaves no outcome possible');
  if (Math.abs(total - 1) > 1e-9) for (const key of keys) mixed[key] = weightOf(mixed, key) / total;
  return mixed;
}
