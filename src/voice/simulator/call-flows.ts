/**
 * The simulated people of the two flows that wait for someone's decision: the customer asked to
 * press 1 (confirm_customer) and the agent shown a preview (preview). Who decides what is drawn
 * from seeded mixes (configurable), or fixed per number / per agent for deterministic tests; the
 * draws come from the simulator's one Prng in command order, so the same seed and commands give
 * the same events. A simulation that never sends these commands draws nothing more.
 */
import type { DialKey, VoiceEvent } from '../voice-port.ts';
import type { AgentPool } from './agent-pool.ts';
import type { CallLife } from './call-life.ts';
import type { DialLedger } from './dial-ledger.ts';
import type { Prng } from './prng.ts';
import type { SimSession } from './sim-session.ts';
import { secondsToMs } from './simulator-config.ts';

/** How answered customers react to the confirmation prompt (probabilities summing to 1). */
export interface ConfirmationMix {
  /** Presses 1. */
  confirm: number;
  /** Presses another key. */
  decline: number;
  /** Presses nothing within the timeout. */
  timeout: number;
}
export type ConfirmationChoice = keyof ConfirmationMix;

/** How agents answer a preview (probabilities summing to 1). */
export interface PreviewMix {
  accept: number;
  reject: number;
  /** Lets the preview time out. */
  timeout: number;
}
export type PreviewChoice = keyof PreviewMix;

export const DEFAULT_CONFIRMATION_MIX: Readonly<ConfirmationMix> = Object.freeze({ confirm: 0.9, decline: 0.05, timeout: 0.05 });
export const DEFAULT_PREVIEW_MIX: Readonly<PreviewMix> = Object.freeze({ accept: 0.85, reject: 0.1, timeout: 0.05 });

/** How soon a customer presses a key, or an agent clicks, after the prompt or preview starts (uniform, seconds; capped below the timeout). */
const DECIDE_AFTER_SEC: readonly [number, number] = [1, 5];

/** Throws unless every probability is in [0, 1] and they sum to 1 (within rounding). */
export function validateMix(mix: Readonly<Record<string, number>>, keys: readonly string[], what: string): void {
  let sum = 0;
  for (const key of keys) {
    const p = mix[key];
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${what}.${key} must be a probability in [0, 1] (got ${String(p)})`);
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new RangeError(`${what} probabilities must sum to 1 (got ${sum})`);
}

export interface CallFlowsDeps {
  readonly pool: AgentPool;
  readonly life: CallLife;
  readonly session: SimSession;
  readonly prng: Prng;
  /** Where the answers are recorded, for tests to compare with what GES made of them. */
  readonly ledger: DialLedger;
  readonly confirmation: ConfirmationMix;
  readonly preview: PreviewMix;
  readonly perNumberConfirm: ((phone: string) => ConfirmationChoice | undefined) | undefined;
  readonly perAgentPreview: ((agentId: string) => PreviewChoice | undefined) | undefined;
  /** How long an agent set not ready after a preview timeout stays so. */
  readonly notReadyMs: number;
  /** The number dialed for the key (for perNumberConfirm). */
  phoneOf(dialKey: DialKey): string | undefined;
  now(): number;
}

interface Pending {
  readonly agentId?: string;
  /** The decision, once made: what a repeat of the command is answered with. */
  outcome: VoiceEvent | undefined;
}

export class CallFlows {
  readonly #d: CallFlowsDeps;
  readonly #confirms = new Map<DialKey, Pending>();
  readonly #previews = new Map<DialKey, Pending>();

  constructor(deps: CallFlowsDeps) {
    this.#d = deps;
  }

  /** confirm_customer: the answered customer hears the prompt and decides (or not) within `timeoutSec`. */
  confirm(dialKey: DialKey, timeoutSec: number): void {
    const { life, session } = this.#d;
    const pending = this.#confirms.get(dialKey);
    if (pending !== undefined) {
      // A repeat: the decision again once made; nothing while the prompt plays.
      if (pending.outcome !== undefined) session.emit(pending.outcome);
      return;
    }
    const call = life.calls.get(dialKey);
    if (call === undefined || call.phase !== 'answered') {
      session.emit(life.movedOn(dialKey) ?? { type: 'failed', dialKey, at: this.#d.now() });
      return;
    }
    const phone = this.#d.phoneOf(dialKey);
    const choice = (phone === undefined ? undefined : this.#d.perNumberConfirm?.(phone)) ?? this.#d.prng.pick(this.#d.confirmation);
    const entry: Pending = { outcome: undefined };
    this.#confirms.set(dialKey, entry);
    life.prompt(call, this.#decideMs(choice === 'timeout', timeoutSec), () => {
      const at = this.#d.now();
      this.#d.ledger.recordConfirmation(dialKey, choice);
      entry.outcome =
        choice === 'confirm'
          ? { type: 'customer_confirmed', dialKey, at }
          : { type: 'customer_not_confirmed', dialKey, why: choice === 'decline' ? 'declined' : 'timeout', at };
      session.emit(entry.outcome);
    });
  }

  /** preview: the agent held for the key sees the callback and accepts, rejects, or lets it time out. */
  preview(dialKey: DialKey, agentId: string, timeoutSec: number, allowReject: boolean, timeoutSetsNotReady: boolean): void {
    const { pool, session } = this.#d;
    const pending = this.#previews.get(dialKey);
    if (pending !== undefined && pending.agentId === agentId) {
      if (pending.outcome !== undefined) session.emit(pending.outcome);
      return;
    }
    if (pool.heldFor(dialKey)?.id !== agentId) {
      session.emit({ type: 'no_agent', dialKey, at: this.#d.now() });
      return;
    }
    let choice = this.#d.perAgentPreview?.(agentId) ?? this.#d.prng.pick(this.#d.preview);
    // Without a reject button the agent who would have refused takes it.
    if (choice === 'reject' && !allowReject) choice = 'accept';
    const entry: Pending = { agentId, outcome: undefined };
    this.#previews.set(dialKey, entry);
    this.#d.ledger.recordPreviewOffer(dialKey, agentId);
    session.after(this.#decideMs(choice === 'timeout', timeoutSec), () => {
      // Released, cancelled or expired meanwhile: the preview closed with nobody to answer.
      if (pool.heldFor(dialKey)?.id !== agentId || this.#previews.get(dialKey) !== entry) {
        if (this.#previews.get(dialKey) === entry) this.#previews.delete(dialKey);
        return;
      }
      const at = this.#d.now();
      this.#d.ledger.recordPreviewAnswer(dialKey, agentId, choice);
      if (choice === 'accept') entry.outcome = { type: 'preview_accepted', dialKey, agentId, at };
      else {
        entry.outcome = { type: 'preview_rejected', dialKey, agentId, why: choice === 'reject' ? 'rejected' : 'timeout', at };
        if (choice === 'timeout' && timeoutSetsNotReady) pool.setNotReady(dialKey, this.#d.notReadyMs);
      }
      session.emit(entry.outcome);
    });
  }

  #decideMs(timesOut: boolean, timeoutSec: number): number {
    const timeoutMs = secondsToMs(timeoutSec);
    if (timesOut) return timeoutMs;
    return Math.min(secondsToMs(this.#d.prng.uniform(...DECIDE_AFTER_SEC)), Math.max(1, timeoutMs - 1));
  }
}
