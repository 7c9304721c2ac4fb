import type { DialKey } from '../voice-port.ts';
import type { AgentDispositionCode } from '../../domain/disposition.ts';
import type { AgentScreen } from './agent-screen.ts';
import type { ConfirmationChoice, PreviewChoice } from './call-flows.ts';

/**
 * The simulator's record of dial commands, by dial key. The voice port promises that a key seen
 * twice is never dialed twice (a command retried after a crash or a lost reply must be harmless);
 * this ledger is how the simulator keeps that promise and how tests prove the engine never asked
 * for, or got, a second call for the same attempt.
 */

export interface DialLedgerEntry {
  /** How many `dial` commands carried this key (1 + duplicates). */
  readonly received: number;
  /** Whether a call was actually placed (false when refused: unknown queue, agent not held, cancelled first, simulator stopped). */
  readonly dialed: boolean;
}

/** How the network answered a placed call. */
export type DialOutcome = 'answered' | 'busy' | 'no_answer' | 'machine' | 'invalid_number' | 'fax' | 'sit' | 'network_failure';

/** What became of a placed call: what a test compares with how GES completed the callback. */
export interface DialResult {
  readonly outcome: DialOutcome;
  /** The answered customer was put through to an agent. */
  readonly connected: boolean;
  /** The machine that took the call was left the service's message (leave_message). */
  readonly messageLeft?: true;
}

/**
 * One preview shown for a key: the agent, and their answer once given (undefined: the hold went
 * first). `seq` and `answeredSeq` are the ledger's change counter at the offer and at the answer, so
 * a test can order previews and holds of one callback (AgentHold) without a clock.
 */
export interface PreviewOffer {
  readonly agentId: string;
  readonly seq: number;
  readonly answer?: PreviewChoice;
  readonly answeredSeq?: number;
}

/** An agent newly held for a key (reserve_agent, or an agent-first dial that took a free agent), in order. */
export interface AgentHold {
  readonly agentId: string;
  readonly seq: number;
}

/** The read side, as the simulator exposes it. */
export interface ReadonlyDialLedger {
  get(dialKey: DialKey): DialLedgerEntry | undefined;
  /** The result of the key's call, once the network answered it (undefined before, or when never placed). */
  resultOf(dialKey: DialKey): DialResult | undefined;
  results(): IterableIterator<[DialKey, DialResult]>;
  /** What the agent of the key's connected call saw of the callback (agent-screen.ts), when the call came with a context. */
  screenOf(dialKey: DialKey): AgentScreen | undefined;
  screens(): IterableIterator<[DialKey, AgentScreen]>;
  /** How the customer of the key answered confirm_customer (once decided). */
  confirmations(): IterableIterator<[DialKey, ConfirmationChoice]>;
  /** The previews of the key, in the order shown: who was offered the callback and what they answered. */
  previews(): IterableIterator<[DialKey, readonly PreviewOffer[]]>;
  /** The agents held for the key, in order (a repeated reservation answered with the same hold is not a new one). */
  holds(): IterableIterator<[DialKey, readonly AgentHold[]]>;
  /** The code the agent of the key's call chose in the disposition dialog (once sent). */
  dispositions(): IterableIterator<[DialKey, AgentDispositionCode]>;
  /** Grows with every change (a key, a duplicate, a dial, a result), so a copy can tell it is stale. */
  readonly changes: number;
  /** Distinct keys that were dialed. */
  readonly dialsPlaced: number;
  /** Dial commands ignored because their key had been seen before. */
  readonly duplicates: number;
  /** Of those, the ones answered by re-emitting the call's latest event (never a second call). */
  readonly replays: number;
  /** Distinct keys received. */
  readonly size: number;
  entries(): IterableIterator<[DialKey, DialLedgerEntry]>;
}

interface MutableEntry {
  received: number;
  dialed: boolean;
}

export class DialLedger implements ReadonlyDialLedger {
  #entries = new Map<DialKey, MutableEntry>();
  #results = new Map<DialKey, DialResult>();
  #screens = new Map<DialKey, AgentScreen>();
  #confirmations = new Map<DialKey, ConfirmationChoice>();
  #previews = new Map<DialKey, { agentId: string; seq: number; answer?: PreviewChoice; answeredSeq?: number }[]>();
  #holds = new Map<DialKey, AgentHold[]>();
  #dispositions = new Map<DialKey, AgentDispositionCode>();
  #duplicates = 0;
  #replays = 0;
  #placed = 0;
  #changes = 0;

  /** Records a dial command; true the first time the key is seen, false (and counted) after. */
  receive(dialKey: DialKey): boolean {
    const entry = this.#entries.get(dialKey);
    this.#changes += 1;
    if (entry !== undefined) {
      entry.received += 1;
      this.#duplicates += 1;
      return false;
    }
    this.#entries.set(dialKey, { received: 1, dialed: false });
    return true;
  }

  /** Records how the network answered the key's call (once: a call is answered once). */
  recordOutcome(dialKey: DialKey, outcome: DialOutcome): void {
    if (this.#entries.get(dialKey)?.dialed !== true) throw new Error(`dial ledger: outcome for ${dialKey}, which was not dialed`);
    if (this.#results.has(dialKey)) throw new Error(`dial ledger: second outcome for ${dialKey}`);
    this.#results.set(dialKey, { outcome, connected: false });
    this.#changes += 1;
  }

  /** Records that the key's answered customer reached an agent; keys that are no outbound call (inbound routes) are ignored. */
  recordConnected(dialKey: DialKey): void {
    const result = this.#results.get(dialKey);
    if (result === undefined || result.connected) return;
    this.#results.set(dialKey, { ...result, connected: true });
    this.#changes += 1;
  }

  /** Records what the agent of the key's connected call was shown. */
  recordScreen(dialKey: DialKey, screen: AgentScreen): void {
    if (!this.#results.has(dialKey)) return;
    this.#screens.set(dialKey, screen);
    this.#changes += 1;
  }

  screenOf(dialKey: DialKey): AgentScreen | undefined {
    return this.#screens.get(dialKey);
  }

  *screens(): IterableIterator<[DialKey, AgentScreen]> {
    yield* this.#screens;
  }

  /** Records the customer's answer to the confirmation prompt (the first: a repeat is told the same answer). */
  recordConfirmation(dialKey: DialKey, choice: ConfirmationChoice): void {
    if (this.#confirmations.has(dialKey)) return;
    this.#confirmations.set(dialKey, choice);
    this.#changes += 1;
  }

  /** Records that the agent was shown a preview of the key's callback. */
  recordPreviewOffer(dialKey: DialKey, agentId: string): void {
    const offers = this.#previews.get(dialKey) ?? [];
    this.#changes += 1;
    offers.push({ agentId, seq: this.#changes });
    this.#previews.set(dialKey, offers);
  }

  /** Records the answer of the agent's latest preview of the key. */
  recordPreviewAnswer(dialKey: DialKey, agentId: string, answer: PreviewChoice): void {
    const offer = this.#previews
      .get(dialKey)
      ?.filter((o) => o.agentId === agentId)
      .at(-1);
    if (offer === undefined || offer.answer !== undefined) return;
    this.#changes += 1;
    offer.answer = answer;
    offer.answeredSeq = this.#changes;
  }

  /** Records that the agent was newly held for the key. */
  recordHold(dialKey: DialKey, agentId: string): void {
    const holds = this.#holds.get(dialKey) ?? [];
    this.#changes += 1;
    holds.push({ agentId, seq: this.#changes });
    this.#holds.set(dialKey, holds);
  }

  *holds(): IterableIterator<[DialKey, readonly AgentHold[]]> {
    for (const [key, holds] of this.#holds) yield [key, [...holds]];
  }

  /** Records the agent's disposition of the key's call (the first: a dialog is answered once). */
  recordDisposition(dialKey: DialKey, code: AgentDispositionCode): void {
    if (this.#dispositions.has(dialKey)) return;
    this.#dispositions.set(dialKey, code);
    this.#changes += 1;
  }

  *confirmations(): IterableIterator<[DialKey, ConfirmationChoice]> {
    yield* this.#confirmations;
  }

  *previews(): IterableIterator<[DialKey, readonly PreviewOffer[]]> {
    for (const [key, offers] of this.#previews) yield [key, offers.map((o) => ({ ...o }))];
  }

  *dispositions(): IterableIterator<[DialKey, AgentDispositionCode]> {
    yield* this.#dispositions;
  }

  /** Records that the machine on the key's call was left the message. */
  recordMessageLeft(dialKey: DialKey): void {
    const result = this.#results.get(dialKey);
    if (result === undefined || result.messageLeft) return;
    this.#results.set(dialKey, { ...result, messageLeft: true });
    this.#changes += 1;
  }

  /** Records that a repeated dial was answered with its call's latest event again. */
  recordReplay(): void {
    this.#replays += 1;
    this.#changes += 1;
  }

  resultOf(dialKey: DialKey): DialResult | undefined {
    return this.#results.get(dialKey);
  }

  *results(): IterableIterator<[DialKey, DialResult]> {
    yield* this.#results;
  }

  get changes(): number {
    return this.#changes;
  }

  /** Marks the key's call as placed. Throws on a second placement: that would be the bug this ledger exists to catch. */
  markDialed(dialKey: DialKey): void {
    const entry = this.#entries.get(dialKey);
    if (entry === undefined) throw new Error(`dial ledger: ${dialKey} dialed without being received`);
    if (entry.dialed) throw new Error(`dial ledger: ${dialKey} dialed twice`);
    entry.dialed = true;
    this.#placed += 1;
    this.#changes += 1;
  }

  get(dialKey: DialKey): DialLedgerEntry | undefined {
    const entry = this.#entries.get(dialKey);
    return entry === undefined ? undefined : { received: entry.received, dialed: entry.dialed };
  }

  get dialsPlaced(): number {
    return this.#placed;
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  get replays(): number {
    return this.#replays;
  }

  get size(): number {
    return this.#entries.size;
  }

  *entries(): IterableIterator<[DialKey, DialLedgerEntry]> {
    for (const [key, entry] of this.#entries) yield [key, { received: entry.received, dialed: entry.dialed }];
  }
}
