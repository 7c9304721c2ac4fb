/**
 * What one node knows of one attempt it carries over SIP: its legs, the agent it holds, where the
 * call stands, and the latest event told of it (what a repeated command is answered with). It
 * lives in the node's memory only: the attempt's truth is in PostgreSQL, and a node that dies
 * takes its calls with it (docs/VOICE-SIP.md, "When a node dies").
 */
import type { DialKey, VoiceEvent } from '../voice-port.ts';
import type { CallLeg } from './call-leg.ts';

export type AttemptStage =
  /** The first call of the attempt is ringing (the customer, or the agent of agent-first). */
  | 'dialing'
  /** The customer answered and waits (for the prompt, an agent, or the connection). */
  | 'answered'
  /** Customer and agent are bridged. */
  | 'connected'
  /** Over: hung up, failed or cancelled. */
  | 'over';

export class SipAttempt {
  readonly key: DialKey;
  /** Known from the dial; an attempt first seen by a preview (agent first) learns it then. */
  tenant = '';
  /** The dial of the key was taken (its call placed, or refused): a repeat never dials again. */
  dialed = false;
  stage: AttemptStage = 'dialing';
  customer: CallLeg | undefined;
  /** The agent's leg, once GES rang the agent (preview, agent-first or connect). */
  agent: CallLeg | undefined;
  /** Login of the agent whose leg `agent` is. */
  agentLogin: string | undefined;
  connectedAt: number | undefined;
  /** The answer of confirm_customer and of preview, once decided: a repeat is told it again. */
  confirmation: VoiceEvent | undefined;
  confirming = false;
  preview: { login: string; outcome: VoiceEvent | undefined } | undefined;
  /** The latest call event of the attempt: what a repeat of dial, reserve or connect is told once it moved on. */
  latest: VoiceEvent | undefined;
  readonly abort = new AbortController();

  constructor(key: DialKey) {
    this.key = key;
  }

  get over(): boolean {
    return this.stage === 'over';
  }

  /** Every leg still up. */
  legs(): CallLeg[] {
    return [this.customer, this.agent].filter((leg): leg is CallLeg => leg !== undefined && !leg.over);
  }

  /** Hangs up every leg and stops whatever waited on the attempt (a prompt, a key press). */
  hangUpAll(): void {
    this.stage = 'over';
    this.abort.abort();
    for (const leg of this.legs()) {
      leg.rtp.unbridge();
      leg.hangUp();
    }
  }
}
