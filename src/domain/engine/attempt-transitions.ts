import type { AttemptPhase, FirstConnectParty } from './attempt-phase.ts';
import type { FailedDialOutcome } from './dial-retry-policy.ts';
import { previewRejectReason, type CompletionReason } from '../callback-state.ts';

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
  | { type: 'customer_confirmed' }
  | { type: 'customer_not_confirmed'; why: 'declined' | 'timeout' }
  | { type: 'preview_accepted'; agentId: string }
  | { type: 'preview_rejected'; agentId: string; why: 'rejected' | 'timeout' }
  | { type: 'message_left' };

export interface AttemptSituation {
  phase: AttemptPhase;
  first: FirstConnectParty;
  attempt: number;
  /** A wait was predicted as the callback first joined its queue (the measurement needs it). */
  predicted: boolean;
  /** The callback's time to live has ended. */
  expired: boolean;
  /** Customer first, userConfirm on: what a customer who did not confirm leads to (onUserConfirmTimeout). Absent: no confirmation. */
  confirm?: { onNoConfirm: 'CONNECT' | 'END' };
  /** agentPreview on: rejects of this callback so far (every attempt, from Postgres) and the most it takes (maxPreviewRejects). Absent: no preview. */
  preview?: { rejects: number; maxRejects: number };
  /** What a machine that answered gets (the service's onMachine); absent: RETRY. */
  onMachine?: 'RETRY' | 'LEAVE_MESSAGE' | 'TREAT_AS_ANSWERED';
}

/** What the platform is told after the step's transition. */
export type FollowUp =
  | { type: 'dial'; agentId: string }
  | { type: 'connect'; agentId?: string }
  | { type: 'reserve_agent' }
  | { type: 'confirm_customer' }
  | { type: 'preview'; agentId: string }
  | { type: 'leave_message' };

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
  | { step: 'requeue'; from: readonly AttemptPhase[]; detail: string; reported?: DialFailure; releaseAgent?: boolean }
  /** No agent yet: the same attempt asks again shortly (no new attempt number, no dial spent). */
  | { step: 'askAgain' }
  /** Its time to live ended while it still had no agent and no call: the callback completes FAIL_TIMEOUT_TTL. */
  | { step: 'expire'; from: readonly AttemptPhase[] }
  /**
   * The flow ends the callback on purpose (no confirmation with onUserConfirmTimeout END, n preview
   * rejects): it completes with `reason`, its call is hung up (cancel) and any agent held given back.
   * `rejectedBy`: the agent whose reject this was, recorded in the same statement.
   */
  | { step: 'end'; from: readonly AttemptPhase[]; reason: CompletionReason; detail: string; rejectedBy?: { agentId: string; why: 'rejected' | 'timeout' } }
  /**
   * An agent rejected the preview (or let it time out): recorded in Postgres with the transition back
   * to asking for an agent (`to`), that agent given back, and another asked for after
   * agentRejectRetryTimeoutSec, never one who rejected this callback before.
   */
  | { step: 'rejected'; from: readonly AttemptPhase[]; to: AttemptPhase; agentId: string; why: 'rejected' | 'timeout' }
  /** The machine took the service's message: the callback completes MESSAGE_LEFT (an agent held for the dial is given back). */
  | { step: 'messageLeft'; from: readonly AttemptPhase[]; releaseAgent: boolean };

/** Phases in which the attempt's call is placed: a call_ended with talk time completes it from any of them. */
export const CALL_PHASES: readonly AttemptPhase[] = Object.freeze(['DIALING', 'AWAITING_AGENT', 'CONNECTING', 'TALKING', 'CONFIRMING', 'PREVIEWING']);

/** Phases whose failure outcomes end a live attempt. */
const FAILING_PHASES: readonly AttemptPhase[] = ['DIALING', 'CONNECTING', 'AWAITING_AGENT', 'RESERVING', 'CONFIRMING', 'PREVIEWING'];

const IGNORE: AttemptStep = Object.freeze({ step: 'ignore' });

/**
 * Whether GES holds an agent for the attempt in this phase (reserved by agent_reserved and not yet
 * connected to the customer): an attempt that ends there gives the agent back (release_agent).
 */
export function holdsAgent(phase: AttemptPhase, first: FirstConnectParty): boolean {
  return phase === 'CONNECTING' || phase === 'PREVIEWING' || (phase === 'DIALING' && first === 'AGENT');
}

/** Where an attempt asks for an agent: before the dial (agent first), or with the customer on the line. */
function askingPhase(first: FirstConnectParty): AttemptPhase {
  return first === 'AGENT' ? 'RESERVING' : 'AWAITING_AGENT';
}

/** The events of the confirmation and preview flows (null for the others). */
function decideFlowStep(a: AttemptSituation, event: AttemptEvent): AttemptStep | null {
  const { phase, first } = a;
  switch (event.type) {
    case 'customer_confirmed':
      if (phase !== 'CONFIRMING') return IGNORE;
      return askForAgent('customer confirmed');
    case 'customer_not_confirmed': {
      if (phase !== 'CONFIRMING') return IGNORE;
      const detail = `not confirmed (${event.why})`;
      // Without the confirm options (changed meanwhile) the reference's default, connect anyway.
      if (a.confirm?.onNoConfirm === 'END') return { step: 'end', from: ['CONFIRMING'], reason: 'FAIL_USER_NO_CONFIRM', detail };
      return askForAgent(`${detail}: connecting anyway`);
    }
    case 'preview_accepted':
      if (phase !== 'PREVIEWING') return IGNORE;
      return first === 'AGENT'
        ? {
            step: 'advance',
            from: ['PREVIEWING'],
            to: 'DIALING',
            history: 'DIAL',
            detail: 'dial',
            agentFound: false,
            then: { type: 'dial', agentId: event.agentId },
          }
        : {
            step: 'advance',
            from: ['PREVIEWING'],
            to: 'CONNECTING',
            history: 'STATE',
            detail: 'preview accepted',
            agentFound: false,
            then: { type: 'connect', agentId: event.agentId },
          };
    case 'preview_rejected': {
      if (phase !== 'PREVIEWING') return IGNORE;
      const rejects = (a.preview?.rejects ?? 0) + 1;
      const max = a.preview?.maxRejects ?? 1;
      if (rejects >= max) {
        return {
          step: 'end',
          from: ['PREVIEWING'],
          reason: previewRejectReason(rejects),
          detail: `preview ${event.why}`,
          rejectedBy: { agentId: event.agentId, why: event.why },
        };
      }
      return { step: 'rejected', from: ['PREVIEWING'], to: askingPhase(first), agentId: event.agentId, why: event.why };
    }
    default:
      return null;
  }
}

/** Customer first, the customer on the line: ask for an agent. */
function askForAgent(detail: string): AttemptStep {
  return {
    step: 'advance',
    from: ['CONFIRMING'],
    to: 'AWAITING_AGENT',
    history: 'STATE',
    detail,
    agentFound: false,
    then: { type: 'reserve_agent' },
  };
}

/** Phases in which the attempt of the row's number is over: a late agent_reserved for it holds an agent for nothing. */
export function attemptOver(phase: AttemptPhase): boolean {
  return phase === 'WAITING' || phase === 'RETRY_WAIT';
}

export function decideAttemptStep(a: AttemptSituation, event: AttemptEvent): AttemptStep {
  const { phase, first } = a;
  const flow = decideFlowStep(a, event);
  if (flow) return flow;
  switch (event.type) {
    case 'agent_reserved':
      // agentPreview: the agent held previews the callback before anyone is dialed or connected.
      if (a.preview && (phase === 'RESERVING' || phase === 'AWAITING_AGENT')) {
        return {
          step: 'advance',
          from: [phase],
          to: 'PREVIEWING',
          history: 'STATE',
          detail: 'agent reserved: preview',
          agentFound: true,
          then: { type: 'preview', agentId: event.agentId },
          holds: event.agentId,
        };
      }
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
      // The agent to preview is not held any more (the platform let it go): ask again, no reject counted.
      if (phase === 'PREVIEWING') {
        return {
          step: 'advance',
          from: ['PREVIEWING'],
          to: askingPhase(first),
          history: 'STATE',
          detail: 'preview agent lost',
          agentFound: false,
          then: { type: 'reserve_agent' },
        };
      }
      return IGNORE;
    case 'answered':
      if (phase !== 'DIALING') return IGNORE;
      return answeredStep(a, 'answered', 'answered');
    case 'machine':
      // The platform kept the machine on the line (the dial said progress.onMachine wait): GES decides.
      if (phase === 'DIALING' && a.onMachine === 'TREAT_AS_ANSWERED') return answeredStep(a, 'machine: treated as answered', 'machine');
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
      if (
        phase === 'AWAITING_AGENT' ||
        phase === 'CONNECTING' ||
        phase === 'DIALING' ||
        phase === 'CONFIRMING' ||
        (phase === 'PREVIEWING' && first === 'CUSTOMER')
      ) {
        return { step: 'fail', from: [phase], outcome: 'abandoned', releaseAgent: holdsAgent(phase, first) };
      }
      return IGNORE;
    case 'customer_confirmed':
    case 'customer_not_confirmed':
    case 'preview_accepted':
    case 'preview_rejected':
      return IGNORE; // decided by decideFlowStep
    default:
      return failureStep(a, event.type);
  }
}

/** The customer (or a machine treated as one) answered: customer first asks for an agent, agent first bridges the held one. */
function answeredStep(a: AttemptSituation, detail: string, outcome: 'answered' | 'machine'): AttemptStep {
  const base = { step: 'advance', from: ['DIALING'], history: 'DIAL', detail, agentFound: false, outcome } as const;
  if (a.first === 'AGENT') return { ...base, to: 'CONNECTING', then: { type: 'connect' } };
  // Customer first with userConfirm: the customer presses 1 before any agent is taken for them.
  if (a.confirm) return { ...base, to: 'CONFIRMING', then: { type: 'confirm_customer' } };
  return { ...base, to: 'AWAITING_AGENT', then: { type: 'reserve_agent' } };
}

/** A dial outcome that reached nobody: retry by its policy, or give the reservation up. */
function failureStep(a: AttemptSituation, outcome: DialFailure): AttemptStep {
  const { phase, first } = a;
  if (!FAILING_PHASES.includes(phase)) return IGNORE;
  // The reservation itself failed: no dial was made, so the retry policy's count is untouched.
  if (phase === 'RESERVING') return { step: 'requeue', from: ['RESERVING'], detail: 'reservation failed', reported: outcome };
  // Agent first, the preview failed on the platform: nobody was dialed; the agent is given back.
  if (phase === 'PREVIEWING' && first === 'AGENT')
    return { step: 'requeue', from: ['PREVIEWING'], detail: 'preview failed', reported: outcome, releaseAgent: true };
  return { step: 'fail', from: [phase], outcome: phase === 'DIALING' ? outcome : 'abandoned', releaseAgent: holdsAgent(phase, first), reported: outcome };
}
