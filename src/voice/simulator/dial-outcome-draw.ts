/**
 * How the network answers a placed call in the simulation: which outcome (from the customer mix,
 * with the per-number override) and after how long. Draws from the simulator's one Prng, so the
 * order of calls fixes every result.
 */
import type { DialFailure } from '../voice-port.ts';
import { CUSTOMER_OUTCOME_KEYS, mixCustomerOutcomes, weightOf, type CustomerOutcome, type CustomerOutcomes } from './customer-outcomes.ts';
import type { Prng } from './prng.ts';
import { secondsToMs, type MeanSd } from './simulator-config.ts';

/** What the network reports for a placed call (`failed` is the platform's, never the network's). */
export type NetworkOutcome = 'answered' | Exclude<DialFailure, 'failed'>;

const OUTCOME_EVENT: Record<CustomerOutcome, NetworkOutcome> = {
  answer: 'answered',
  busy: 'busy',
  noAnswer: 'no_answer',
  machine: 'machine',
  invalid: 'invalid_number',
  fax: 'fax',
  sit: 'sit',
  networkFailure: 'network_failure',
};

/** How soon the network reports a busy line, an invalid number, a machine (uniform, seconds). */
const BUSY_AFTER_SEC: readonly [number, number] = [1, 3];
const INVALID_AFTER_SEC: readonly [number, number] = [0.2, 1];
const MACHINE_AFTER_SEC: readonly [number, number] = [3, 8];
/** A fax answers and whistles like a machine does; a tone or a failed route comes before any ringing. */
const FAX_AFTER_SEC: readonly [number, number] = [2, 6];
const SIT_AFTER_SEC: readonly [number, number] = [0.5, 2];
const NETWORK_FAILURE_AFTER_SEC: readonly [number, number] = [0.2, 3];

export interface DialOutcomeDrawOptions {
  readonly prng: Prng;
  readonly customers: CustomerOutcomes;
  readonly perNumber: ((phone: string) => Partial<CustomerOutcomes> | undefined) | undefined;
  readonly timeToAnswer: MeanSd;
  readonly ringTimeoutMs: number;
}

export class DialOutcomeDraw {
  readonly #o: DialOutcomeDrawOptions;

  constructor(options: DialOutcomeDrawOptions) {
    this.#o = options;
  }

  outcome(phone: string): NetworkOutcome {
    // Too few digits to be a number anywhere: the network refuses it, whatever the mix says.
    if ((phone.match(/\d/g)?.length ?? 0) < 3) return 'invalid_number';
    const override = this.#o.perNumber?.(phone);
    const mix = override === undefined ? this.#o.customers : mixCustomerOutcomes(this.#o.customers, override);
    const weights = CUSTOMER_OUTCOME_KEYS.map((key) => weightOf(mix, key));
    return OUTCOME_EVENT[CUSTOMER_OUTCOME_KEYS[this.#o.prng.pick(weights)]!];
  }

  delayMs(outcome: NetworkOutcome): number {
    const prng = this.#o.prng;
    switch (outcome) {
      case 'answered': {
        // Cut just under the ring timeout rather than turned into no_answer, so the realised outcome
        // mix is exactly the configured one (tests and benchmarks reason from it).
        const t = secondsToMs(prng.lognormal(this.#o.timeToAnswer.mean, this.#o.timeToAnswer.sd));
        return Math.min(t, this.#o.ringTimeoutMs - 1);
      }
      case 'no_answer':
        return this.#o.ringTimeoutMs;
      case 'busy':
        return secondsToMs(prng.uniform(...BUSY_AFTER_SEC));
      case 'invalid_number':
        return secondsToMs(prng.uniform(...INVALID_AFTER_SEC));
      case 'machine':
        return secondsToMs(prng.uniform(...MACHINE_AFTER_SEC));
      case 'fax':
        return secondsToMs(prng.uniform(...FAX_AFTER_SEC));
      case 'sit':
        return secondsToMs(prng.uniform(...SIT_AFTER_SEC));
      case 'network_failure':
        return secondsToMs(prng.uniform(...NETWORK_FAILURE_AFTER_SEC));
    }
  }
}
