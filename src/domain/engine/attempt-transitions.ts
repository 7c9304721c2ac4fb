import type { AttemptPhase, FirstConnectParty } from './attempt-phase.ts';
import type { FailedDialOutcome } from './dial-retry-policy.ts';

/**
 * The decision table of an attempt: which platform event, in which phase, does what. Pure: it
 * reads the attempt as Postgres last showed it and returns a tagged step; the engine carries the
 * step out (src/engine/attempt-driver.ts), every change as one statement fenced on the attempt and
 * the phases the step names, so a step decided on a row that moved meanwhile changes nothing.
 */

/** The outcomes of a dial that reached no agent, as the platform names them. */
export type DialFailure = 'busy' | 'no_answer' | 'machine' | 'invalid_number' | 'failed' | 'fax' | 'sit' | 'network_failure';

/** An attempt's event, as far as the table needs it (the voice port's events keyed by a dial key). */
export type AttemptEvent =
  | { type: 'answered' }
  | { type: DialFailure }
  | { type: 'agent_reserved'; agentId: string }
  | { type: 'no_agent' }
  | { type: 'connected' }
  | { type: 'call_ended'; talkSeconds: number }
  | { type: 'message_left' };

export interface AttemptSituation {
  phase: AttemptPhase;
  first: FirstConnectParty;
  attempt: number;
  /** A wait was predicted as the callback first joined its queue (the measurement needs it). */
  predicted: boolean;
  /** The callback's time to live has ended. */
  expired: boolean;
  /** What a machine that answered gets (the service's onMachine); absent: RETRY. */
  onMachine?: 'RETRY' | 'LEAVE_MESSAGE' | 'TREAT_AS_ANSWERED';
}

/** What the platform is told after the step's transition. */
export type FollowUp = { type: 'dial'; agentId: string } | { type: 'connect'; agentId?: string } | { type: 'reserve_agent' } | { type: 'leave_message' };

export type AttemptStep =
  /** Nothing to do: the event is a duplicate, late, or means nothing in this phase. */
  | { step: 'ignore' }
  /** The attempt moves on; `then` goes to the platform once it has (an agent found leaves dial pacing; `holds`: GES now holds that agent). */
  | {
      step: 'advance';
      from: readonly AttemptPhase[];
      to: AttemptPhase;
      history: 'STATE' | 'DIAL';
      detail: string;
      agentFound: boolean;
      then: FollowUp;
      holds?: string;
      /** The dial outcome to count (the platform's word for what answered). */
      outcome?: 'answered' | 'machine';
    }
  /** Customer and agent are connected. */
  | { step: 'talk'; from: readonly AttemptPhase[]; agentFound: boolean; measureWait: boolean }
  /** The call ended after customer and agent talked: the callback is served. */
  | { step: 'complete'; from: readonly AttemptPhase[]; talkSeconds: number; agentFound: boolean }
  /** The call failed (or the customer left before an agent came): retry by policy or complete. */
  | { step: 'fail'; from: readonly AttemptPhase[]; outcome: FailedDialOutcome; releaseAgent: boolean; reported?: DialFailure }
  /** No dial was made: the callback waits in its queue again. */
  | { step: 'requeue'; from: readonly AttemptPhase[]; detail: string; reported?: DialFailure }
  /** No agent yet: the same attempt asks again shortly (no new attempt number, no dial spent). */
  | { step: 'askAgain' }
  /** Its time to live ended while it still had no agent and no call: the callback completes FAIL_TIMEOUT_TTL. */
  | { step: 'expire'; from: readonly AttemptPhase[] }
  /** The machine took the service's message: the callback completes MESSAGE_LEFT (an agent held for the dial is given back). */
  | { step: 'messageLeft'; from: readonly AttemptPhase[]; releaseAgent: boolean };

/** Phases in which the attempt's call is placed: a call_ended with talk time completes it from any of them. */
export const CALL_PHASES: readonly AttemptPhase[] = Object.freeze(['DIALING', 'AWAITING_AGENT', 'CONNECTING', 'TALKING']);

/** Phases whose failure outcomes end a live attempt. */
const FAILING_PHASES: readonly AttemptPhase[] = ['DIALING', 'CONNECTING', 'AWAITING_AGENT', 'RESERVING'];

const IGNORE: AttemptStep = Object.freeze({ step: 'ignore' });

/**
 * Whether GES holds an agent for the attempt in this phase (reserved by agent_reserved and not yet
 * connected to the customer): an attempt that ends there gives the agent back (release_agent).
 */
export function holdsAgent(phase: AttemptPhase, first: FirstConnectParty): boolean {
  return phase === 'CONNECTING' || (phase === 'DIALING' && first === 'AGENT');
}

/** Phases in which the attempt of the row's number is over: a late agent_reserved for it holds an agent for nothing. */
export function attemptOver(phase: AttemptPhase): boolean {
  return phase === 'WAITING' || phase === 'RETRY_WAIT';
}

export function decideAttemptStep(a: AttemptSituation, event: AttemptEvent): AttemptStep {
  const { phase, first } = a;
  switch (event.type) {
    case 'agent_reserved':
      if (phase === 'RESERVING') {
        return {
          step: 'advance',
          from: ['RESERVING'],
          to: 'DIALING',
          history: 'DIAL',
          detail: 'dial',
          agentFound: true,
          then: { type: 'dial', agentId: event.agentId },
          holds: event.agentId,
        };
      }
      if (phase === 'AWAITING_AGENT') {
        return {
          step: 'advance',
          from: ['AWAITING_AGENT'],
          to: 'CONNECTING',
          history: 'STATE',
          detail: 'agent reserved',
          agentFound: true,
          then: { type: 'connect', agentId: event.agentId },
          holds: event.agentId,
        };
      }
      return IGNORE;
    case 'no_agent':
      // Agent first, nobody dialed yet: the attempt keeps its number and asks again, so a platform
      // that keeps answering no_agent (or presence that said an agent was free when none was) costs
      // requests, never attempt numbers; its time to live still ends it.
      if (phase === 'RESERVING') return a.expired ? { step: 'expire', from: ['RESERVING'] } : { step: 'askAgain' };
      // The customer is on the line: ask again shortly (their patience is the platform's to judge).
      if (phase === 'AWAITING_AGENT') return { step: 'askAgain' };
      if (phase === 'CONNECTING') return { step: 'fail', from: ['CONNECTING'], outcome: 'abandoned', releaseAgent: true };
      return IGNORE;
    case 'answered':
      if (phase !== 'DIALING') return IGNORE;
      return answeredStep(first, 'answered', 'answered');
    case 'machine':
      // The platform kept the machine on the line (the dial said progress.onMachine wait): GES decides.
      if (phase === 'DIALING' && a.onMachine === 'TREAT_AS_ANSWERED') return answeredStep(first, 'machine: treated as answered', 'machine');
      if (phase === 'DIALING' && a.onMachine === 'LEAVE_MESSAGE') {
        // Same phase, a fresh watchdog: a repeat of machine asks again (the platform plays it once).
        return {
          step: 'advance',
          from: ['DIALING'],
          to: 'DIALING',
          history: 'DIAL',
          detail: 'machine: leaving message',
          agentFound: false,
          then: { type: 'leave_message' },
          outcome: 'machine',
        };
      }
      return failureStep(a, 'machine');
    case 'message_left':
      if (phase !== 'DIALING') return IGNORE;
      return { step: 'messageLeft', from: ['DIALING'], releaseAgent: holdsAgent(phase, first) };
    case 'connected':
      if (phase !== 'CONNECTING' && phase !== 'AWAITING_AGENT') return IGNORE;
      // From CONNECTING the agent was found at agent_reserved already. Retries are left out of the
      // measurement: their wait includes pauses the customer caused, which no estimator predicts.
      return { step: 'talk', from: ['CONNECTING', 'AWAITING_AGENT'], agentFound: phase === 'AWAITING_AGENT', measureWait: a.attempt === 1 && a.predicted };
    case 'call_ended':
      // Talk time means customer and agent were connected, even when `connected` has not been
      // applied: lost with a flushed stream, pending on a node that died, or being handled right
      // now by another node (hence every call phase in the fence, not only the one read here).
      if (phase === 'TALKING' || (event.talkSeconds > 0 && CALL_PHASES.includes(phase))) {
        // `connected` never applied: the callback may still count as pending an agent.
        return { step: 'complete', from: CALL_PHASES, talkSeconds: event.talkSeconds, agentFound: phase === 'DIALING' || phase === 'AWAITING_AGENT' };
      }
      if (phase === 'AWAITING_AGENT' || phase === 'CONNECTING' || phase === 'DIALING') {
        return { step: 'fail', from: [phase], outcome: 'abandoned', releaseAgent: holdsAgent(phase, first) };
      }
      return IGNORE;
    default:
      return failureStep(a, event.type);
  }
}

/** The customer (or a machine treated as one) answered: customer first asks for an agent, agent first bridges the held one. */
function answeredStep(first: FirstConnectParty, detail: string, outcome: 'answered' | 'machine'): AttemptStep {
  return first === 'AGENT'
    ? { step: 'advance', from: ['DIALING'], to: 'CONNECTING', history: 'DIAL', detail, agentFound: false, then: { type: 'connect' }, outcome }
    : { step: 'advance', from: ['DIALING'], to: 'AWAITING_AGENT', history: 'DIAL', detail, agentFound: false, then: { type: 'reserve_agent' }, outcome };
}

/** A dial outcome that reached nobody: retry by its policy, or give the reservation up. */
function failureStep(a: AttemptSituation, outcome: DialFailure): AttemptStep {
  const { phase, first } = a;
  if (!FAILING_PHASES.includes(phase)) return IGNORE;
  // The reservation itself failed: no dial was made, so the retry policy's count is untouched.
  if (phase === 'RESERVING') return { step: 'requeue', from: ['RESERVING'], detail: 'reservation failed', reported: outcome };
  return { step: 'fail', from: [phase], outcome: phase === 'DIALING' ? outcome : 'abandoned', releaseAgent: holdsAgent(phase, first), reported: outcome };
}
