/**
 * The simulator's dial ledger as a JSON file, so a test in another process can read what the
 * platform process dialed and how many agents it holds. A snapshot for readers, not the durable
 * ledger (that is dial-journal-file.ts). Written atomically (temporary file, then rename): a reader sees the
 * previous version or the new one, never half of one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AgentHold, DialResult, PreviewOffer, ReadonlyDialLedger } from '../simulator/dial-ledger.ts';
import type { ConfirmationChoice } from '../simulator/call-flows.ts';
import type { AgentDispositionCode } from '../../domain/disposition.ts';
import type { AgentScreen } from '../simulator/agent-screen.ts';

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
  /** By dial key, for connected calls that came with a context: what the agent saw of the callback (customer data: a test artefact, not a log). */
  readonly screens: Readonly<Record<string, AgentScreen>>;
  /** By dial key: the customer's answer to confirm_customer. */
  readonly confirmations: Readonly<Record<string, ConfirmationChoice>>;
  /** By dial key: every preview shown, in order (agent, answer once given), so a test can tell no agent saw a callback again after rejecting it. */
  readonly previews: Readonly<Record<string, readonly PreviewOffer[]>>;
  /** By dial key: every agent newly held for it, in order (ordered with the previews by `seq`). */
  readonly holds: Readonly<Record<string, readonly AgentHold[]>>;
  /** By dial key: the disposition the agent sent. */
  readonly dispositions: Readonly<Record<string, AgentDispositionCode>>;
  /** Agents held for an attempt at the time of the write (0 once every attempt ended and was released). */
  readonly agentsHeld: number;
  /** Holds freed by the safety-net expiry: each one a release_agent GES did not send. */
  readonly holdsExpired: number;
}

/** What the platform tells of its agent holds beside the ledger. */
export interface HoldCounts {
  readonly agentsHeld: number;
  readonly holdsExpired: number;
}

export function ledgerSnapshot(ledger: ReadonlyDialLedger, holds: HoldCounts): DialLedgerFile {
  const keys: Record<string, { received: number; dialed: boolean }> = {};
  for (const [key, entry] of ledger.entries()) keys[key] = { received: entry.received, dialed: entry.dialed };
  const results: Record<string, DialResult> = Object.fromEntries(ledger.results());
  const screens: Record<string, AgentScreen> = Object.fromEntries(ledger.screens());
  return {
    writtenAt: Date.now(),
    dialsPlaced: ledger.dialsPlaced,
    duplicates: ledger.duplicates,
    replays: ledger.replays,
    keys,
    results,
    screens,
    confirmations: Object.fromEntries(ledger.confirmations()),
    previews: Object.fromEntries(ledger.previews()),
    holds: Object.fromEntries(ledger.holds()),
    dispositions: Object.fromEntries(ledger.dispositions()),
    agentsHeld: holds.agentsHeld,
    holdsExpired: holds.holdsExpired,
  };
}

export function writeLedgerFile(path: string, ledger: ReadonlyDialLedger, holds: HoldCounts): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(ledgerSnapshot(ledger, holds)));
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
