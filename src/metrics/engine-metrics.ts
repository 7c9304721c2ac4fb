import { Counter, Histogram, type Registry } from 'prom-client';
import type { EngineObserver } from '../engine/callback-engine.ts';
import { REASONS, STATES, type CompletionReason } from '../domain/callback-state.ts';
import { DISPOSITION_CODES } from '../domain/disposition.ts';

/** Due time to QUEUED: a healthy engine is within its poll interval (ENGINE_POLL_MS, 2 s). */
export const DISPATCH_LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
/** |predicted − actual| wait: estimates are read by people in minutes. */
export const WAIT_ERROR_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** Label values from closed sets: anything else is folded, so a stray value cannot add series. */
const DIAL_OUTCOMES = new Set(['answered', 'busy', 'no_answer', 'machine', 'invalid_number', 'failed', 'fax', 'sit', 'network_failure']);
const STATE_NAMES = new Set<string>(Object.keys(STATES));
const REASON_NAMES = new Set<string>(Object.keys(REASONS));
const DISPOSITION_NAMES = new Set<string>(DISPOSITION_CODES);
const CONFIRM_OUTCOMES = new Set(['confirmed', 'declined', 'timeout']);
const REJECT_WHYS = new Set(['rejected', 'timeout']);
const oneOf = (allowed: Set<string>, value: string | undefined, other: string) => (value !== undefined && allowed.has(value) ? value : other);

/**
 * What the callback engine reports (its EngineObserver): transitions, completions, dial outcomes,
 * dispatch lateness and the wait estimator's error. Completions made outside the engine (a cancel
 * through the API) land in the same series through `callbackCompleted`.
 */
export function engineMetrics(registry: Registry) {
  const registers = [registry];
  const dispatchLateness = new Histogram({
    name: 'ges_dispatch_lateness_seconds',
    help: "Seconds from a scheduled callback's due time to the engine making it QUEUED, by tenant",
    labelNames: ['tenant'] as const,
    buckets: DISPATCH_LATENESS_BUCKETS,
    registers,
  });
  const dialOutcomes = new Counter({
    name: 'ges_dial_outcomes_total',
    help: 'Outcomes of calls to customers reported by the voice platform, by tenant, service and outcome',
    labelNames: ['tenant', 'service', 'outcome'] as const,
    registers,
  });
  const transitions = new Counter({
    name: 'ges_callback_transitions_total',
    help: 'Callbacks entering a state (QUEUED, ROUTING, PROCESSING, COMPLETED) after creation, by tenant, service and state',
    labelNames: ['tenant', 'service', 'state'] as const,
    registers,
  });
  const completions = new Counter({
    name: 'ges_callbacks_completed_total',
    help: 'Callbacks completed, by tenant, service and completion reason',
    labelNames: ['tenant', 'service', 'reason'] as const,
    registers,
  });
  const waitEstimateError = new Histogram({
    name: 'ges_wait_estimate_error_seconds',
    help: 'Absolute difference between the wait predicted as a callback joined its queue and its real wait, in seconds',
    labelNames: ['tenant', 'service'] as const,
    buckets: WAIT_ERROR_BUCKETS,
    registers,
  });
  const waitsMeasured = new Counter({
    name: 'ges_waits_measured_total',
    help: 'Callbacks whose real wait was compared with the prediction (first attempts that reached an agent)',
    labelNames: ['tenant', 'service'] as const,
    registers,
  });

  const dispositions = new Counter({
    name: 'ges_dispositions_total',
    help: "Dispositions of served callbacks recorded, by tenant, service and code (the agent's choice, or TIMEOUT)",
    labelNames: ['tenant', 'service', 'code'] as const,
    registers,
  });
  const customerConfirmations = new Counter({
    name: 'ges_customer_confirmations_total',
    help: 'Answers of customers to the confirmation prompt (userConfirm), by tenant, service and outcome (confirmed, declined, timeout)',
    labelNames: ['tenant', 'service', 'outcome'] as const,
    registers,
  });
  const previewRejects = new Counter({
    name: 'ges_preview_rejects_total',
    help: 'Agent previews rejected (agentPreview), by tenant, service and why (rejected, timeout)',
    labelNames: ['tenant', 'service', 'why'] as const,
    registers,
  });

  function completed(tenant: string, service: string, reason: string | undefined): void {
    transitions.inc({ tenant, service, state: 'COMPLETED' });
    completions.inc({ tenant, service, reason: oneOf(REASON_NAMES, reason, 'OTHER') });
  }
  const engine: Required<EngineObserver> = {
    transition({ tenant, service, to, reason }) {
      if (to === 'COMPLETED') completed(tenant, service, reason);
      else transitions.inc({ tenant, service, state: oneOf(STATE_NAMES, to, 'OTHER') });
    },
    dialOutcome({ tenant, service, outcome }) {
      dialOutcomes.inc({ tenant, service, outcome: oneOf(DIAL_OUTCOMES, outcome, 'other') });
    },
    dispatchLateness({ tenant, seconds }) {
      dispatchLateness.observe({ tenant }, Math.max(0, seconds));
    },
    disposition({ tenant, service, code }) {
      dispositions.inc({ tenant, service, code: oneOf(DISPOSITION_NAMES, code, 'OTHER') });
    },
    waitMeasured({ tenant, service, predictedSec, actualSec }) {
      waitsMeasured.inc({ tenant, service });
      waitEstimateError.observe({ tenant, service }, Math.abs(predictedSec - actualSec));
    },
    customerConfirm({ tenant, service, outcome }) {
      customerConfirmations.inc({ tenant, service, outcome: oneOf(CONFIRM_OUTCOMES, outcome, 'other') });
    },
    previewRejected({ tenant, service, why }) {
      previewRejects.inc({ tenant, service, why: oneOf(REJECT_WHYS, why, 'other') });
    },
  };
  return {
    engine,
    /** Counts a callback completed outside the engine (a cancel through the API or the console). */
    callbackCompleted: (event: { tenant: string; service: string; reason: CompletionReason }): void => {
      completed(event.tenant, event.service, event.reason);
    },
  };
}
