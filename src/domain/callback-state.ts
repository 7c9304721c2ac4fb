/**
 * Callback states and completion reasons as GES names them (ges-api.md §2.2, §2.3). They are stored
 * as small integers to keep the callback row compact; the numbers are part of the on-disk format and
 * must never be renumbered.
 */
export const STATES = Object.freeze({ SCHEDULED: 1, QUEUED: 2, ROUTING: 3, PROCESSING: 4, COMPLETED: 5 } as const);
export type CallbackState = keyof typeof STATES;

export const REASONS = Object.freeze({
  AGENT_CONNECTED: 1, // success
  CANCELLED: 2, // cancelled through the API
  CANCELLED_BY_ADMIN: 3, // cancelled in the console
  FAIL_CALL_TO_CUSTOMER: 4, // customer unreachable after all attempts
  FAIL_TIMEOUT_TTL: 5,
  FAIL_AGENT_CONNECT: 6,
  FAIL_ERROR: 7,
} as const);
export type CompletionReason = keyof typeof REASONS;

/** States in which a callback still holds a place in its queue (counted by in-queue checking). */
export const ACTIVE_STATES: readonly CallbackState[] = Object.freeze(['SCHEDULED', 'QUEUED', 'ROUTING', 'PROCESSING']);
/** GES forbids cancelling while an agent is talking to the customer, and a finished callback. */
export const CANCELLABLE_STATES: readonly CallbackState[] = Object.freeze(['SCHEDULED', 'QUEUED', 'ROUTING']);
/** Only a callback that has not started can move to another time. */
export const RESCHEDULABLE_STATES: readonly CallbackState[] = Object.freeze(['SCHEDULED']);

const stateByCode = new Map<number, CallbackState>(Object.entries(STATES).map(([k, v]) => [v, k as CallbackState]));
const reasonByCode = new Map<number, CompletionReason>(Object.entries(REASONS).map(([k, v]) => [v, k as CompletionReason]));

export function stateName(code: number): CallbackState {
  const name = stateByCode.get(code);
  if (!name) throw new Error(`unknown callback state code ${code}`);
  return name;
}

export function reasonName(code: number | null): CompletionReason | undefined {
  return code === null ? undefined : reasonByCode.get(code);
}

/** Why a cancel is refused, or undefined when it is allowed. */
export function cancelRefusal(state: CallbackState): string | undefined {
  if (state === 'PROCESSING') return 'callback is PROCESSING: an agent is connected to the customer and it cannot be cancelled';
  if (state === 'COMPLETED') return 'callback is already COMPLETED';
  return undefined;
}
