import type { Logger } from 'pino';
import type { Queryable } from '../store/db.ts';
import type { HotState } from '../hot/hot-state.ts';
import type { VoicePort } from '../voice/voice-port.ts';
import type { CompletionReason } from '../domain/callback-state.ts';
import type { DispositionCode } from '../domain/disposition.ts';
import type { EngineClock } from './engine-clock.ts';

/** What the engine reports as it works (metrics listen). */
export interface EngineObserver {
  transition?(e: { tenant: string; service: string; to: string; reason?: CompletionReason }): void;
  dialOutcome?(e: { tenant: string; service: string; outcome: string }): void;
  dispatchLateness?(e: { tenant: string; seconds: number }): void;
  /** A callback reached an agent at its first attempt: the wait predicted as it joined the queue against the real one. */
  waitMeasured?(e: { tenant: string; service: string; predictedSec: number; actualSec: number }): void;
  /** A disposition was recorded (once per served callback): the agent's code, or TIMEOUT. */
  disposition?(e: { tenant: string; service: string; code: DispositionCode }): void;
}

export interface EngineOptions {
  db: Queryable;
  hot: HotState;
  voice: VoicePort;
  clock: EngineClock;
  logger: Logger;
  /** How often an idle node asks the hot state for due work (ms). Due times it already knows are met by timers. */
  pollMs?: number;
  /** Lease of a claimed due entry (ms): if the node dies, the entry is due again after this. */
  leaseMs?: number;
  /** Due entries handled per claim. */
  batch?: number;
  /** How often waiting callbacks past their time to live are swept (ms). */
  sweepMs?: number;
  /** Caps every phase's watchdog (seconds; 0: WATCHDOG_SEC as it is), for a platform that answers in seconds. */
  watchdogCapSec?: number;
  observer?: EngineObserver;
}

/** The tunables of EngineOptions with their defaults applied. */
export interface EngineSettings {
  readonly pollMs: number;
  readonly leaseMs: number;
  readonly batch: number;
  readonly sweepMs: number;
  readonly watchdogCapSec: number;
}

export function engineSettings(o: EngineOptions): EngineSettings {
  return Object.freeze({
    pollMs: o.pollMs ?? 2000,
    leaseMs: o.leaseMs ?? 30_000,
    batch: o.batch ?? 200,
    sweepMs: o.sweepMs ?? 30_000,
    watchdogCapSec: o.watchdogCapSec ?? 0,
  });
}
