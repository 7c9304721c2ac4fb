/**
 * The simulator's dial ledger as a JSON file, so a test in another process can read what the
 * platform process dialed. Written atomically (temporary file, then rename): a reader sees the
 * previous version or the new one, never half of one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { DialResult, ReadonlyDialLedger } from '../simulator/dial-ledger.ts';

export interface DialLedgerFile {
  /** Wall-clock time of the write, epoch ms. */
  readonly writtenAt: number;
  readonly dialsPlaced: number;
  readonly duplicates: number;
  /** Repeated dial commands answered with the call's latest event again (no call placed). */
  readonly replays: number;
  /** By dial key: dial commands received with that key, and whether a call was placed. */
  readonly keys: Readonly<Record<string, { readonly received: number; readonly dialed: boolean }>>;
  /** By dial key, for calls the network has answered: the outcome, and whether an agent took the call. */
  readonly results: Readonly<Record<string, DialResult>>;
}

export function ledgerSnapshot(ledger: ReadonlyDialLedger): DialLedgerFile {
  const keys: Record<string, { received: number; dialed: boolean }> = {};
  for (const [key, entry] of ledger.entries()) keys[key] = { received: entry.received, dialed: entry.dialed };
  const results: Record<string, DialResult> = Object.fromEntries(ledger.results());
  return { writtenAt: Date.now(), dialsPlaced: ledger.dialsPlaced, duplicates: ledger.duplicates, replays: ledger.replays, keys, results };
}

export function writeLedgerFile(path: string, ledger: ReadonlyDialLedger): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(ledgerSnapshot(ledger)));
  renameSync(tmp, path);
}

/** The ledger as last written, or undefined while the file does not exist yet. */
export function readLedgerFile(path: string): DialLedgerFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as DialLedgerFile;
}
