/**
 * The engine's hot state: indexes that make the engine prompt and cheap, and that can always be
 * rebuilt from PostgreSQL (src/engine/hot-state-rebuild.ts). Nothing here is the truth about a
 * callback; losing all of it loses no callback, only time until the rebuild. No user data and no
 * phone numbers are kept: only callback ids, times and per-queue interaction samples.
 *
 * Per tenant (one hash tag per tenant on Redis, so every script runs on one Cluster slot):
 * - the due index: callbacks the engine must look at at a given time (scheduled callbacks' queue
 *   time, ends of retry pauses, watchdogs of attempts in flight);
 * - per service, the queue (waiting callbacks by virtual start time), the pending set (callbacks
 *   taken from the queue that have no agent yet: what dial pacing counts) and recent samples.
 * Across tenants, one wake-up index says which tenant has due work earliest, so an idle node asks
 * one question per poll whatever the number of tenants.
 */

export interface DueEntry {
  id: string;
  atMs: number;
}

export interface QueueEntry {
  id: string;
  score: number;
}

/** One finished interaction of a queue: what the wait estimators learn from. */
export interface InteractionSample {
  /** When the interaction ended (epoch ms). */
  atMs: number;
  /** Seconds the agent was busy with it (talk + wrap-up as far as GES sees it). */
  handleSec: number;
  /** Seconds from joining the queue to the agent connecting (actual wait). */
  waitSec: number;
}

export interface Wakeups {
  /** False when the index lost its sentinel: the store was flushed or restarted empty. */
  intact: boolean;
  tenants: { tenantId: number; atMs: number }[];
}

export interface HotState {
  /** Adds or moves due entries (and lowers the tenant's wake-up time if needed). */
  setDue(tenantId: number, entries: readonly DueEntry[]): Promise<void>;
  /** Takes up to `limit` entries due at `nowMs`, leasing them: each reappears at nowMs + leaseMs unless removed or moved. */
  claimDue(tenantId: number, nowMs: number, leaseMs: number, limit: number): Promise<string[]>;
  removeDue(tenantId: number, ids: readonly string[]): Promise<void>;
  /** The earliest wake-ups across tenants (one command). */
  wakeups(limit: number): Promise<Wakeups>;
  /** Points the tenant's wake-up at its earliest due entry (after claims have moved entries later). */
  settleWakeup(tenantId: number): Promise<void>;

  enqueue(tenantId: number, serviceId: number, entries: readonly QueueEntry[]): Promise<void>;
  /**
   * Takes the head of a service's queue if fewer than `maxPending` callbacks are pending an agent;
   * the callback becomes pending and due at `watchdogAtMs`, atomically, so a node that dies right
   * after taking it loses nothing. Returns its id, 'paced' when enough are pending, or undefined
   * when the queue is empty.
   */
  takeHead(tenantId: number, serviceId: number, maxPending: number, watchdogAtMs: number): Promise<string | 'paced' | undefined>;
  /** The callback has an agent: it no longer counts against dial pacing. */
  agentFound(tenantId: number, serviceId: number, id: string): Promise<void>;
  /** An attempt ended without an agent; the callback waits in the queue again at `score`. */
  requeue(tenantId: number, serviceId: number, id: string, score: number): Promise<void>;
  /** An attempt ended; the callback pauses out of the queue until `atMs`. */
  pause(tenantId: number, serviceId: number, id: string, atMs: number): Promise<void>;
  /** The callback is finished: out of queue, pending set and due index; a sample is recorded when given. */
  finish(tenantId: number, serviceId: number, id: string, sample?: InteractionSample): Promise<void>;

  /** 1-based place in the queue, or undefined when it is not waiting in it. */
  position(tenantId: number, serviceId: number, id: string): Promise<number | undefined>;
  counts(tenantId: number, serviceId: number): Promise<{ waiting: number; pending: number }>;
  /** The most recent samples, oldest first (at most 32). */
  samples(tenantId: number, serviceId: number): Promise<InteractionSample[]>;

  /** Marks the index intact (after a rebuild); wakeups() reports intact until the store is lost. */
  markIntact(): Promise<void>;
  close(): Promise<void>;
}

/** Samples kept per queue: the last 32 interactions, as GES's mode1 estimate uses. */
export const SAMPLES_KEPT = 32;

export function encodeSample(s: InteractionSample): string {
  return `${Math.round(s.atMs)},${Math.round(s.handleSec * 10) / 10},${Math.round(s.waitSec * 10) / 10}`;
}

export function decodeSample(raw: string): InteractionSample | undefined {
  const [at, handle, wait] = raw.split(',').map(Number);
  if (!Number.isFinite(at) || !Number.isFinite(handle) || !Number.isFinite(wait)) return undefined;
  return { atMs: at!, handleSec: handle!, waitSec: wait! };
}
