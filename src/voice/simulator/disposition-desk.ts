/**
 * The agents' disposition dialog in the simulator: `disposition_request` shows it to the agent who
 * talked on the dial key, who picks an outcome after a drawn time, or lets it time out (then the
 * platform sends nothing, as the contract says). Choices come from their own seeded stream, so
 * turning dialogs on changes none of the other draws of a seeded run; a per-number override fixes
 * one customer's outcome for a test.
 */
import { AGENT_DISPOSITION_CODES, type AgentDispositionCode } from '../../domain/disposition.ts';
import type { DialKey } from '../voice-port.ts';
import { Prng, type Seed } from './prng.ts';
import type { SimSession } from './sim-session.ts';
import { secondsToMs, type MeanSd } from './simulator-config.ts';

/** One agent's choice: a code, or `none` (the agent lets the dialog time out). */
export interface DispositionChoice {
  code: AgentDispositionCode | 'none';
  note?: string;
  /** CALL_BACK_LATER: the desired time sent, this many seconds after the choice (absent: none sent, GES's default delay). */
  desiredInSec?: number;
  /** Seconds the agent takes to choose (absent: drawn from `afterSec`). */
  afterSec?: number;
}

export type DispositionMix = Readonly<Record<AgentDispositionCode | 'none', number>>;

/** What the simulator's dialog is configured with (plain JSON, so the stand-in platform takes it through --sim). */
export interface SimDispositionConfig {
  /** Probability of each choice; those not named get 0. Default DEFAULT_DISPOSITION_MIX. */
  mix?: Partial<DispositionMix>;
  /** Seconds an agent takes to choose (log-normal). Default mean 10, sd 5. */
  afterSec?: MeanSd;
  /** CALL_BACK_LATER drawn from the mix sends a desired time this many seconds ahead; absent: no desired time. */
  callBackLaterInSec?: number;
  /** A customer's number → that call's choice exactly. */
  perNumber?: Readonly<Record<string, DispositionChoice>>;
}

export const DEFAULT_DISPOSITION_MIX: DispositionMix = Object.freeze({
  DONE: 0.8,
  CALL_BACK_LATER: 0.1,
  NOT_INTERESTED: 0.03,
  WRONG_NUMBER: 0.01,
  OTHER: 0.01,
  none: 0.05,
});

/** Fixed order of the choices: the stream maps a draw through it, so it is part of determinism. */
const CHOICES: readonly (AgentDispositionCode | 'none')[] = [...AGENT_DISPOSITION_CODES, 'none'];

export interface DispositionDeskDeps {
  readonly session: SimSession;
  readonly seed: Seed;
  readonly config: SimDispositionConfig | undefined;
  now(): number;
}

export class DispositionDesk {
  readonly #d: DispositionDeskDeps;
  readonly #prng: Prng;
  readonly #weights: number[];
  readonly #afterSec: MeanSd;
  /** The customer's number of each dial key, kept only when overrides by number exist. */
  readonly #phones = new Map<DialKey, string>();
  /** The agent who talked on each dial key, until its dialog is asked for. */
  readonly #agents = new Map<DialKey, string>();
  /** Dial keys whose dialog was shown: a repeated request shows nothing new. */
  readonly #asked = new Set<DialKey>();

  constructor(deps: DispositionDeskDeps) {
    this.#d = deps;
    this.#prng = new Prng(`${String(deps.seed)}/disposition`);
    const mix = deps.config?.mix === undefined ? DEFAULT_DISPOSITION_MIX : deps.config.mix;
    this.#weights = CHOICES.map((c) => {
      const p = mix[c] ?? 0;
      if (!(p >= 0) || !Number.isFinite(p)) throw new RangeError(`dispositions.mix.${c} must be a probability >= 0 (got ${String(p)})`);
      return p;
    });
    if (!(this.#weights.reduce((a, b) => a + b, 0) > 0)) throw new RangeError('dispositions.mix leaves no choice possible');
    this.#afterSec = deps.config?.afterSec ?? { mean: 10, sd: 5 };
    if (!(this.#afterSec.mean > 0) || !(this.#afterSec.sd >= 0)) throw new RangeError('dispositions.afterSec needs mean > 0 and sd >= 0');
  }

  dialed(dialKey: DialKey, phone: string): void {
    if (this.#d.config?.perNumber !== undefined) this.#phones.set(dialKey, phone);
  }

  connected(dialKey: DialKey, agentId: string): void {
    this.#agents.set(dialKey, agentId);
  }

  /** Shows the dialog to the agent of the key's call; the choice is sent within `timeoutSec`, or nothing is. */
  request(dialKey: DialKey, timeoutSec: number): void {
    const agentId = this.#agents.get(dialKey);
    if (agentId === undefined || this.#asked.has(dialKey)) return;
    this.#asked.add(dialKey);
    this.#agents.delete(dialKey);
    const phone = this.#phones.get(dialKey);
    this.#phones.delete(dialKey);
    const override = phone === undefined ? undefined : this.#d.config?.perNumber?.[phone];
    const choice = override ?? this.#draw();
    if (choice.code === 'none') return;
    const afterMs = secondsToMs(choice.afterSec ?? this.#prng.lognormal(this.#afterSec.mean, this.#afterSec.sd));
    if (afterMs > secondsToMs(timeoutSec)) return; // the dialog closed first: the platform sends nothing
    const code = choice.code;
    this.#d.session.after(afterMs, () => {
      const at = this.#d.now();
      const inSec = code === 'CALL_BACK_LATER' ? choice.desiredInSec : undefined;
      this.#d.session.emit({
        type: 'disposition',
        dialKey,
        agentId,
        code,
        ...(choice.note === undefined ? {} : { note: choice.note }),
        ...(inSec === undefined ? {} : { desiredTime: new Date(at + secondsToMs(inSec)).toISOString() }),
        at,
      });
    });
  }

  #draw(): DispositionChoice {
    const code = CHOICES[this.#prng.pick(this.#weights)]!;
    const inSec = this.#d.config?.callBackLaterInSec;
    return code === 'CALL_BACK_LATER' && inSec !== undefined ? { code, desiredInSec: inSec } : { code };
  }
}
