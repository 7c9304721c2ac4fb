/**
 * What a simulator must remember across its own restarts to keep the contract (docs/VOICE-CONTRACT.md,
 * "A platform restarts"): every dial key it took (never dialed again), the latest event of each call
 * (the answer to a repeat), and which calls were still in progress (reported once it is back). The
 * simulator tells every change as it happens (`onLedgerChange`, before the change reaches a call);
 * a durable store records them (the platform process appends them to a journal file) and folds them
 * back into a SimulatorResume at the next start.
 */
import type { DialKey, VoiceEvent } from '../voice-port.ts';

export type LedgerChange =
  /** A dial command with a key never seen before was taken (told before it is carried out). */
  | { readonly kind: 'seen'; readonly dialKey: DialKey }
  /** The key's call was placed. */
  | { readonly kind: 'placed'; readonly dialKey: DialKey }
  /** The call reached an agent at `at`. */
  | { readonly kind: 'connected'; readonly dialKey: DialKey; readonly at: number }
  /** The latest event of the key's call (what a repeat is answered with). */
  | { readonly kind: 'event'; readonly dialKey: DialKey; readonly event: VoiceEvent }
  /** The key's call is over (its final event told, or cancelled). */
  | { readonly kind: 'over'; readonly dialKey: DialKey }
  /** The attempt was cancelled: the key is spent. */
  | { readonly kind: 'cancelled'; readonly dialKey: DialKey };

/** An event of one call (it names its dial key). */
export type CallReport = Extract<VoiceEvent, { dialKey: DialKey }>;

export interface SimulatorResume {
  readonly seen: ReadonlySet<DialKey>;
  readonly placed: ReadonlySet<DialKey>;
  readonly cancelled: ReadonlySet<DialKey>;
  readonly latest: ReadonlyMap<DialKey, VoiceEvent>;
  /** Calls placed and not over, with when they reached an agent (undefined: not connected). */
  readonly inFlight: ReadonlyMap<DialKey, { readonly connectedAt: number | undefined }>;
}

export function foldLedgerChanges(changes: Iterable<LedgerChange>): SimulatorResume {
  const seen = new Set<DialKey>();
  const placed = new Set<DialKey>();
  const cancelled = new Set<DialKey>();
  const latest = new Map<DialKey, VoiceEvent>();
  const inFlight = new Map<DialKey, { connectedAt: number | undefined }>();
  for (const change of changes) {
    const key = change.dialKey;
    switch (change.kind) {
      case 'seen':
        seen.add(key);
        break;
      case 'placed':
        placed.add(key);
        inFlight.set(key, { connectedAt: undefined });
        break;
      case 'connected': {
        const call = inFlight.get(key);
        if (call !== undefined) call.connectedAt = change.at;
        break;
      }
      case 'event':
        latest.set(key, change.event);
        break;
      case 'over':
        inFlight.delete(key);
        break;
      case 'cancelled':
        cancelled.add(key);
        inFlight.delete(key);
        break;
    }
  }
  return { seen, placed, cancelled, latest, inFlight };
}

/**
 * What a restarted platform reports for a call it had in progress: a connected call as ended, with
 * the talk up to `now` (an upper bound: the call went down with the platform at the latest), so GES
 * completes the callback it served; any other call as `failed`, reason `platform_restart`, so GES
 * retries it as a new attempt. Never a second dial of the same key.
 */
export function restartReport(dialKey: DialKey, connectedAt: number | undefined, now: number): CallReport {
  if (connectedAt !== undefined) return { type: 'call_ended', dialKey, at: now, talkSeconds: Math.max(0.001, (now - connectedAt) / 1000) };
  return { type: 'failed', dialKey, at: now, reason: 'platform_restart' };
}
