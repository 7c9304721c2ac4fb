import type { CallbackState } from '../callback-state.ts';

/**
 * Where a callback's current attempt stands, below the API state. Stored as a smallint next to the
 * state (its numbers are on-disk format). The engine fences every transition on (attempt, phase),
 * so an event meant for an earlier step or an earlier attempt changes nothing.
 *
 * Customer first: WAITING → DIALING → AWAITING_AGENT (customer on the line, agent asked for)
 *   → CONNECTING (agent reserved: ROUTING) → TALKING (PROCESSING).
 * Agent first: WAITING → RESERVING → DIALING (agent held: ROUTING) → CONNECTING → TALKING.
 * With customer confirmation (userConfirm), customer first: DIALING → CONFIRMING (the prompt plays,
 * QUEUED) → AWAITING_AGENT. With agent preview (agentPreview), each agent reserved first previews
 * the callback: … → PREVIEWING (ROUTING) → DIALING (agent first) or CONNECTING (customer first).
 */
export const PHASES = Object.freeze({
  WAITING: 0,
  RESERVING: 1,
  DIALING: 2,
  AWAITING_AGENT: 3,
  CONNECTING: 4,
  TALKING: 5,
  /** Between attempts: out of the queue until due_at, then WAITING again. */
  RETRY_WAIT: 6,
  /** Customer first, userConfirm: the customer answered and hears the prompt; GES waits for customer_confirmed / customer_not_confirmed. */
  CONFIRMING: 7,
  /** agentPreview: an agent is held and previews the callback; GES waits for preview_accepted / preview_rejected. */
  PREVIEWING: 8,
  /** USERORIGINATED: pushed to the customer's app, taken from the queue, waiting for confirm or snooze until due_at (the push's expiry). */
  PUSHED: 9,
} as const);
export type AttemptPhase = keyof typeof PHASES;

const phaseByCode = new Map<number, AttemptPhase>(Object.entries(PHASES).map(([k, v]) => [v, k as AttemptPhase]));

export function phaseName(code: number): AttemptPhase {
  const name = phaseByCode.get(code);
  if (!name) throw new Error(`unknown attempt phase code ${code}`);
  return name;
}

export type FirstConnectParty = 'CUSTOMER' | 'AGENT';

/** The API state a phase shows: ROUTING once an agent is held for the callback, PROCESSING while they talk. */
export function stateOfPhase(phase: AttemptPhase, first: FirstConnectParty): Exclude<CallbackState, 'SCHEDULED' | 'COMPLETED'> {
  switch (phase) {
    case 'WAITING':
    case 'RETRY_WAIT':
    case 'RESERVING':
    case 'AWAITING_AGENT':
    case 'CONFIRMING':
    case 'PUSHED':
      return 'QUEUED';
    case 'DIALING':
      return first === 'AGENT' ? 'ROUTING' : 'QUEUED';
    case 'CONNECTING':
    case 'PREVIEWING':
      return 'ROUTING';
    case 'TALKING':
      return 'PROCESSING';
  }
}
