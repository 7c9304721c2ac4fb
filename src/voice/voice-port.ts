/**
 * The voice-platform port: everything GES asks of telephony and everything it hears back. The
 * engine talks only to this interface; adapters (the built-in contact-center simulator, a Redis-
 * stream bridge to a real platform) implement it and know nothing of Postgres.
 *
 * Commands are idempotent by `dialKey` (callback id + ":" + attempt): a platform that sees the same
 * key twice must not dial twice, so a command retried after a crash or a lost reply is harmless.
 */
import type { CallContext, CallProgress, MachineMessage } from '../domain/call-context.ts';
import type { AgentDispositionCode } from '../domain/disposition.ts';

/** A dial attempt's identity: `${callbackId}:${attempt}`. */
export type DialKey = string;

export function dialKeyOf(callbackId: string, attempt: number): DialKey {
  return `${callbackId}:${attempt}`;
}

export type VoiceCommand =
  /** Place an outbound call to the customer (customer-first), or, with agentId, for that reserved agent (agent-first). */
  | { type: 'dial'; dialKey: DialKey; tenant: string; queue: string; phone: string; agentId?: string; context?: CallContext; progress?: CallProgress }
  /** Bridge an answered customer call to an agent: the one named, or without agentId the one held for this dial key. */
  | { type: 'connect'; dialKey: DialKey; agentId?: string; context?: CallContext }
  /** Hold an available agent of the queue for this attempt (agent-first, or before connecting). */
  | {
      type: 'reserve_agent';
      dialKey: DialKey;
      tenant: string;
      queue: string;
      /** Agents who rejected this callback's preview (any attempt): never to be held for it again. */
      excludeAgents?: string[];
      context?: CallContext;
    }
  /**
   * Give back an agent held for the attempt. GES sends it for every agent it reserved whenever the
   * attempt ends without that agent being connected (docs/VOICE-CONTRACT.md, "Holding agents").
   */
  | { type: 'release_agent'; dialKey: DialKey; agentId: string }
  /** Abandon the attempt: stop dialing or hang up, and free any agent held for it. Produces no event. */
  | { type: 'cancel'; dialKey: DialKey }
  /**
   * Route an inbound call (announced by `inbound_call`) to a queue's next free agent, attaching the
   * matched call-in request's userData. Keyed `in:<callId>` so its `connected` / `call_ended`
   * events flow like an outbound attempt's. Without `queue` the platform plays its own default
   * treatment (the call was not matched).
   */
  | { type: 'route_inbound'; dialKey: DialKey; callId: string; tenant: string; queue?: string; userData?: Record<string, unknown> }
  /**
   * The attempt's call reached an answering machine that the platform kept on the line (the dial's
   * progress.onMachine was `wait`): play the service's message to it, then hang up (`message_left`).
   */
  | { type: 'leave_message'; dialKey: DialKey; message: MachineMessage }
  /**
   * After a served call (call_ended with talk time), show the agent who talked on the attempt the
   * disposition dialog for `timeoutSec`; the choice comes back as `disposition`, nothing at the timeout.
   */
  | { type: 'disposition_request'; dialKey: DialKey; timeoutSec: number }
  /**
   * Customer first, userConfirm: play `prompt` to the answered customer and wait `timeoutSec` for
   * the key press; answered with customer_confirmed or customer_not_confirmed.
   */
  | { type: 'confirm_customer'; dialKey: DialKey; prompt: string; timeoutSec: number }
  /**
   * agentPreview: show the callback to the agent held for the attempt for `timeoutSec`; answered
   * with preview_accepted or preview_rejected (no_agent when that agent is not held for the key).
   */
  | { type: 'preview'; dialKey: DialKey; agentId: string; timeoutSec: number; allowReject: boolean; timeoutSetsNotReady: boolean };

export type DialFailure = 'busy' | 'no_answer' | 'machine' | 'invalid_number' | 'failed' | 'fax' | 'sit' | 'network_failure';

/**
 * Why a platform reports `failed` when the cause is its own state rather than the command:
 * `platform_restart` for a call it had in flight when it went down, `ledger_lost` for a dial it
 * refuses because it cannot tell whether it placed that call already.
 */
export type FailedReason = 'platform_restart' | 'ledger_lost';

/** What dial, reserve_agent and connect tell of the callback (contract 2), and how a dial handles machines. */
export type { CallContext, CallProgress, MachineMessage } from '../domain/call-context.ts';

/**
 * `cause` on call events: what the network said, in a few words ("SIP 486", "ring timeout, CANCEL
 * sent", "customer hung up"), kept in the callback's history beside the step. Never user data.
 */
export type VoiceEvent =
  | { type: 'answered'; dialKey: DialKey; at: number; cause?: string }
  | { type: Exclude<DialFailure, 'failed'>; dialKey: DialKey; at: number; cause?: string }
  | { type: 'failed'; dialKey: DialKey; at: number; reason?: FailedReason; cause?: string }
  | { type: 'agent_reserved'; dialKey: DialKey; agentId: string; at: number }
  | { type: 'no_agent'; dialKey: DialKey; at: number; cause?: string }
  | { type: 'connected'; dialKey: DialKey; agentId: string; at: number; cause?: string }
  | { type: 'call_ended'; dialKey: DialKey; at: number; talkSeconds: number; cause?: string }
  | { type: 'agent_ready' | 'agent_not_ready'; tenant: string; queue: string; agentId: string; at: number }
  | { type: 'inbound_call'; callId: string; tenant: string; toNumber: string; fromNumber: string; digits?: string; at: number }
  /** The message of a leave_message was played to the machine and the call hung up: the attempt is over. */
  | { type: 'message_left'; dialKey: DialKey; at: number }
  /** The agent's outcome of a served call, answering disposition_request (desiredTime: ISO 8601, for CALL_BACK_LATER). */
  | { type: 'disposition'; dialKey: DialKey; agentId: string; code: AgentDispositionCode; note?: string; desiredTime?: string; at: number }
  | { type: 'customer_confirmed'; dialKey: DialKey; at: number }
  | { type: 'customer_not_confirmed'; dialKey: DialKey; why: 'declined' | 'timeout'; at: number }
  | { type: 'preview_accepted'; dialKey: DialKey; agentId: string; at: number }
  | { type: 'preview_rejected'; dialKey: DialKey; agentId: string; why: 'rejected' | 'timeout'; at: number };

/**
 * An event subscriber. An adapter with durable delivery (the Redis stream) acknowledges an event
 * only after the promise a handler returns has settled, so an event is not lost with a node that
 * dies while handling it.
 */
export type VoiceEventHandler = (event: VoiceEvent) => void | Promise<void>;

export interface VoicePort {
  /** Sends a command; resolves once the platform has it (its outcome arrives as events). */
  send(command: VoiceCommand): Promise<void>;
  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(handler: VoiceEventHandler): () => void;
  /** Agents of a queue that are logged in and free right now, as last reported by the platform. */
  availableAgents(tenant: string, queue: string): number;
  /** Agents of a queue logged in (free, busy or not ready), when the platform reports it; wait estimates use it. */
  agentsLoggedIn?(tenant: string, queue: string): number;
  /**
   * True when each node's adapter carries the calls it placed itself (SIP: the call and its media
   * live in that node's process) and knows nothing of another node's: a `dial` re-sent by another
   * node's watchdog would place a second call for the key, since no shared ledger answers the
   * repeat. The watchdog then gives a stalled dial up instead of re-sending it.
   */
  readonly callsLiveInNode?: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}
