import type { AttemptPhase } from '../domain/engine/attempt-phase.ts';

/** Phases an attempt in flight can be in: each has a watchdog. */
export type WatchedPhase = Exclude<AttemptPhase, 'WAITING' | 'RETRY_WAIT'>;

/** How long each phase may last without news before the watchdog looks at the attempt (seconds). */
export const WATCHDOG_SEC: Readonly<Record<WatchedPhase, number>> = Object.freeze({
  RESERVING: 120,
  DIALING: 180,
  AWAITING_AGENT: 180,
  CONNECTING: 120,
  TALKING: 4 * 3600,
  // Longer than the platform's own timeouts (userConfirmTimeoutSec, agentPreviewTimeoutSec: at most 120 s).
  CONFIRMING: 180,
  PREVIEWING: 180,
  /** Not used as such: a push's due time is its service's pushedCallbackExpiryTimeSec. */
  PUSHED: 86400,
});

/** A phase's watchdog (seconds), capped by `capSec` when it is positive (the watchdogCapSec option). */
export function watchdogSec(phase: WatchedPhase, capSec: number): number {
  return capSec > 0 ? Math.min(WATCHDOG_SEC[phase], capSec) : WATCHDOG_SEC[phase];
}

/**
 * How long a node's liveness entry lasts unrenewed: half the shortest watchdog, at most a minute,
 * so a dead node's watchdogs are announced about when they fall due.
 */
export function livenessMs(capSec: number): number {
  const phases = Object.keys(WATCHDOG_SEC) as WatchedPhase[];
  return Math.min(60_000, Math.min(...phases.map((p) => watchdogSec(p, capSec))) * 500);
}
