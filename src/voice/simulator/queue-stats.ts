import type { DialFailure } from '../voice-port.ts';

/**
 * Per-queue statistics the simulator keeps as calls finish, for the wait-time estimation that comes
 * later (an estimate needs how long agents stay busy per call) and for benchmark reports. Running
 * mean and variance (Welford) plus a bounded window of recent handle times, so memory stays flat
 * however long a benchmark runs.
 */

export type DialOutcome = 'answered' | DialFailure;

export interface QueueStatsSnapshot {
  /** Calls placed for this queue. */
  readonly dials: number;
  readonly outcomes: Readonly<Record<DialOutcome, number>>;
  /** Answered calls bridged to an agent. */
  readonly connected: number;
  /** Connected calls that ended (naturally or hung up by cancel). */
  readonly completedCalls: number;
  /** Answered customers who hung up (patience ran out, or cancel) before an agent was connected. */
  readonly abandoned: number;
  /** Talk time of completed calls, seconds. */
  readonly meanTalkSec: number;
  /** Handle time (talk + wrap-up: how long the call kept its agent away), seconds. */
  readonly meanHandleSec: number;
  readonly sdHandleSec: number;
  readonly minHandleSec: number;
  readonly maxHandleSec: number;
  /** The most recent handle times, oldest first (at most RECENT_WINDOW). */
  readonly recentHandleSec: readonly number[];
}

export const RECENT_WINDOW = 1000;

export class QueueStats {
  #dials = 0;
  #outcomes: Record<DialOutcome, number> = { answered: 0, busy: 0, no_answer: 0, machine: 0, invalid_number: 0, failed: 0, fax: 0, sit: 0, network_failure: 0 };
  #connected = 0;
  #abandoned = 0;
  #completed = 0;
  #talkSum = 0;
  #mean = 0;
  #m2 = 0;
  #min = Infinity;
  #max = -Infinity;
  #recent: number[] = [];
  #recentNext = 0;

  recordDial(): void {
    this.#dials += 1;
  }

  recordOutcome(outcome: DialOutcome): void {
    this.#outcomes[outcome] += 1;
  }

  recordConnected(): void {
    this.#connected += 1;
  }

  recordAbandoned(): void {
    this.#abandoned += 1;
  }

  recordCompleted(talkSec: number, wrapUpSec: number): void {
    const handle = talkSec + wrapUpSec;
    this.#completed += 1;
    this.#talkSum += talkSec;
    const delta = handle - this.#mean;
    this.#mean += delta / this.#completed;
    this.#m2 += delta * (handle - this.#mean);
    this.#min = Math.min(this.#min, handle);
    this.#max = Math.max(this.#max, handle);
    // Ring buffer: overwrite the oldest once full.
    if (this.#recent.length < RECENT_WINDOW) this.#recent.push(handle);
    else this.#recent[this.#recentNext] = handle;
    this.#recentNext = (this.#recentNext + 1) % RECENT_WINDOW;
  }

  snapshot(): QueueStatsSnapshot {
    const n = this.#completed;
    const recent =
      this.#recent.length < RECENT_WINDOW ? [...this.#recent] : [...this.#recent.slice(this.#recentNext), ...this.#recent.slice(0, this.#recentNext)];
    return {
      dials: this.#dials,
      outcomes: { ...this.#outcomes },
      connected: this.#connected,
      completedCalls: n,
      abandoned: this.#abandoned,
      meanTalkSec: n === 0 ? 0 : this.#talkSum / n,
      meanHandleSec: n === 0 ? 0 : this.#mean,
      sdHandleSec: n < 2 ? 0 : Math.sqrt(this.#m2 / (n - 1)),
      minHandleSec: n === 0 ? 0 : this.#min,
      maxHandleSec: n === 0 ? 0 : this.#max,
      recentHandleSec: recent,
    };
  }
}
