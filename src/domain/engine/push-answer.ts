import type { AttemptPhase } from './attempt-phase.ts';

/**
 * The decision table of a USERORIGINATED (push) callback once it is pushed: what the app's answer,
 * or its absence until the push expires, does. Pure, like attempt-transitions.ts: the engine
 * carries the step out as one statement fenced on (attempt, PUSHED), so an answer racing the
 * expiry, or a second answer, changes nothing once the first has moved the callback.
 */

/** What the customer's app says (POST /callbacks/confirm, /callbacks/snooze), or 'expired': nothing until the push's expiry. */
export type PushAnswer = 'confirm' | 'snooze' | 'expired';

export interface PushSituation {
  phase: AttemptPhase;
  /** Pushes sent so far, this one included (the callback's attempt number counts them while it is never dialed). */
  pushes: number;
  /** _max_number_of_user_availability_confirmation_attempts. */
  maxPushes: number;
  /** The service gives a call-in number (pushCallInGroup set) instead of dialing the customer. */
  callIn: boolean;
}

export type PushStep =
  /** Confirmed: dial the customer (customer first) or reserve an agent (agent first), as a USERTERMINATED attempt. */
  | { step: 'dial' }
  /** Confirmed: hand the customer a call-in number and access code; the callback completes CALL_IN_GIVEN. */
  | { step: 'callIn' }
  /** Out of the queue for the snooze duration, then back at its place (the score comes from the row, not the pause). */
  | { step: 'snooze' }
  /** Nobody answered in time: FAIL_USER_NO_CONFIRM. */
  | { step: 'giveUp' }
  /** The answer does not apply now; `why` says so to the client (4xx). */
  | { step: 'refuse'; why: string };

/** The actions a push offers the app: the last push cannot be snoozed. */
export function pushActions(pushes: number, maxPushes: number): readonly ('CONFIRM' | 'SNOOZE' | 'CANCEL')[] {
  return pushes < maxPushes ? ['CONFIRM', 'SNOOZE', 'CANCEL'] : ['CONFIRM', 'CANCEL'];
}

export function decidePushStep(s: PushSituation, answer: PushAnswer): PushStep {
  if (s.phase !== 'PUSHED') {
    if (answer === 'expired') return { step: 'refuse', why: 'not pushed' };
    return { step: 'refuse', why: 'the callback is not waiting for an answer to a push' };
  }
  switch (answer) {
    case 'confirm':
      return s.callIn ? { step: 'callIn' } : { step: 'dial' };
    case 'snooze':
      if (s.pushes >= s.maxPushes) return { step: 'refuse', why: `no snooze left: this was push ${s.pushes} of ${s.maxPushes}; confirm or cancel` };
      return { step: 'snooze' };
    case 'expired':
      return { step: 'giveUp' };
  }
}
