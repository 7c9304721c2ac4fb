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
  // The call flows (docs/ENGINE.md, "Call flows"). Codes are reserved here once, so that flows
  // built side by side never give one number two meanings.
  FAIL_USER_NO_CONFIRM: 8, // the customer did not confirm (press 1, or a push left unanswered)
  MESSAGE_LEFT: 9, // an answering machine took the service's message (GES extension)
  AGENT_PREVIEW_CANCEL_AFTER_1REJECTS: 21, // 20 + n: n agents rejected the preview
  AGENT_PREVIEW_CANCEL_AFTER_2REJECTS: 22,
  AGENT_PREVIEW_CANCEL_AFTER_3REJECTS: 23,
  AGENT_PREVIEW_CANCEL_AFTER_4REJECTS: 24,
  AGENT_PREVIEW_CANCEL_AFTER_5REJECTS: 25,
  AGENT_PREVIEW_CANCEL_AFTER_6REJECTS: 26,
  AGENT_PREVIEW_CANCEL_AFTER_7REJECTS: 27,
  AGENT_PREVIEW_CANCEL_AFTER_8REJECTS: 28,
  AGENT_PREVIEW_CANCEL_AFTER_9REJECTS: 29,
  CALL_IN_GIVEN: 30, // a confirmed push callback was given a call-in number and access code: the customer calls (GES extension)
} as const);

/** The completion reason after `n` preview rejects (1-9; the service option is bounded to that). */
export function previewRejectReason(n: number): CompletionReason {
  const k = Math.min(9, Math.max(1, Math.round(n)));
  return `AGENT_PREVIEW_CANCEL_AFTER_${k}REJECTS` as CompletionReason;
}
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
