import type { CompletionReason } from '../callback-state.ts';
import { openIntervals, type BusinessHours } from '../calendar/business-hours.ts';
import type { ServiceOptions } from '../service-options.ts';

/** What the platform reported for a dial that did not reach an agent. */
export type FailedDialOutcome = 'busy' | 'no_answer' | 'machine' | 'invalid_number' | 'failed' | 'abandoned' | 'fax' | 'sit' | 'network_failure';

export type RetryDecision = { retry: true; atMs: number } | { retry: false; reason: CompletionReason };

const POLICY_OF: Record<FailedDialOutcome, keyof ServiceOptions['retry']> = {
  busy: 'busy',
  no_answer: 'noAnswer',
  machine: 'machine',
  invalid_number: 'invalidNumber',
  // A platform error and a customer who hung up before an agent came are both "try again soon".
  failed: 'failed',
  abandoned: 'failed',
  fax: 'fax',
  sit: 'sit',
  network_failure: 'networkFailure',
};

/**
 * The reason a callback completes with once its outcome's retries are spent: the platform's own
 * failure and a network that could not carry the call are errors of the path (FAIL_ERROR), a
 * customer who hung up before an agent came is FAIL_AGENT_CONNECT, everything the customer's line
 * did (busy, no answer, machine, fax, tone, invalid number) is FAIL_CALL_TO_CUSTOMER.
 */
export function finalReason(outcome: FailedDialOutcome): CompletionReason {
  if (outcome === 'failed' || outcome === 'network_failure') return 'FAIL_ERROR';
  return outcome === 'abandoned' ? 'FAIL_AGENT_CONNECT' : 'FAIL_CALL_TO_CUSTOMER';
}

/** How far ahead a retry looks for the next opening before giving up. */
const OPENING_SEARCH_MS = 8 * 24 * 60 * 60 * 1000;

/**
 * Decides what follows a failed dial. `dials` counts the dials of this callback so far, this one
 * included; the outcome's policy caps the total (the first dial counts), so "3 attempts" means
 * at most two retries. A retry waits the policy's delay and happens only inside business hours:
 * a delay that ends while the service is closed moves to the next opening. A retry that would land
 * after the callback's time-to-live has ended is not made.
 */
export function decideRetry(
  outcome: FailedDialOutcome,
  dials: number,
  options: Pick<ServiceOptions, 'retry'>,
  hours: BusinessHours,
  nowMs: number,
  expiresAtMs: number,
): RetryDecision {
  const policy = options.retry[POLICY_OF[outcome]];
  const failReason = finalReason(outcome);
  if (dials >= policy.maxAttempts) return { retry: false, reason: failReason };
  const earliest = nowMs + policy.delaySec * 1000;
  const opening = openIntervals(hours, earliest, earliest + OPENING_SEARCH_MS)[0];
  if (!opening) return { retry: false, reason: failReason };
  const atMs = Math.max(earliest, opening.start);
  if (atMs > expiresAtMs) return { retry: false, reason: failReason };
  return { retry: true, atMs };
}
