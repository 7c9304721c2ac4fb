import type { DialKey } from '../voice-port.ts';

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

/** The read side, as the simulator exposes it. */
export interface ReadonlyDialLedger {
  get(dialKey: DialKey): DialLedgerEntry | undefined;
  /** Distinct keys that were dialed. */
  readonly dialsPlaced: number;
  /** Dial commands ignored because their key had been seen before. */
  readonly duplicates: number;
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
  #duplicates = 0;
  #placed = 0;

  /** Records a dial command; true the first time the key is seen, false (and counted) after. */
  receive(dialKey: DialKey): boolean {
    const entry = this.#entries.get(dialKey);
    if (entry !== undefined) {
      entry.received += 1;
      this.#duplicates += 1;
      return false;
    }
    this.#entries.set(dialKey, { received: 1, dialed: false });
    return true;
  }

  /** Marks the key's call as placed. Throws on a second placement: that would be the bug this ledger exists to catch. */
  markDialed(dialKey: DialKey): void {
    const entry = this.#entries.get(dialKey);
    if (entry === undefined) throw new Error(`dial ledger: ${dialKey} dialed without being received`);
    if (entry.dialed) throw new Error(`dial ledger: ${dialKey} dialed twice`);
    entry.dialed = true;
    this.#placed += 1;
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

  get size(): number {
    return this.#entries.size;
  }

  *entries(): IterableIterator<[DialKey, DialLedgerEntry]> {
    for (const [key, entry] of this.#entries) yield [key, { received: entry.received, dialed: entry.dialed }];
  }
}
