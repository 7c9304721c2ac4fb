/**
 * The engine's hot state: indexes that make the engine prompt and cheap, and that can always be
 * rebuilt from PostgreSQL (src/engine/hot-state-rebuild.ts). Nothing here is the truth about a
 * callback; losing all of it loses no callback, only time until the rebuild. No user data and no
 * phone numbers are kept: only callback ids, times and per-queue interaction samples.
 *
 * Per tenant (one hash tag per tenant on Redis, so every script runs on one Cluster slot):
 * - the due index: callbacks the engine must look at at a given time (scheduled callbacks' queue
 *   time, ends of retry pauses, watchdogs of attempts in flight);
 * - per service, the queue: waiting callbacks by virtual start time and, in the same sorted set at
 *   negative scores, the pending ones (taken from the queue, no agent yet: what dial pacing counts),
 *   so that one read gives both the pacing count and the heads to take; and recent samples.
 * Across tenants, one wake-up index says which tenant has due work earliest, so an idle node asks
 * one question per poll whatever the number of tenants. It also holds a liveness entry per node:
 * watchdogs of attempts in flight are not announced on it (most calls end before their watchdog,
 * and an announced time that is then removed costs a wasted wake-up); the node that wrote them
 * times them itself, and if its liveness entry lapses another node rebuilds, which announces them.
 *
 * Command counts are a budget (docs/BENCHMARKS.md): the Redis implementation says what each costs.
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
  /** Liveness entries among the earliest: each node renews its own before `atMs`; a later one has lapsed. */
  nodes: { node: string; atMs: number }[];
}

/** What one take from a queue gave. */
export interface Taken {
  /** Callbacks taken, in queue order (none when the queue is empty or pacing holds it back). */
  ids: string[];
  /** True when no callback is left waiting in the queue. */
  drained: boolean;
}

export interface HotState {
  /** Adds or moves due entries, and announces them: the tenant's wake-up is lowered if needed. */
  setDue(tenantId: number, entries: readonly DueEntry[]): Promise<void>;
  /**
   * Moves due entries that exist (one removed meanwhile stays removed) without announcing them: for
   * watchdogs of attempts in flight, which the calling node times itself while its liveness entry
   * is fresh.
   */
  moveDue(tenantId: number, entries: readonly DueEntry[]): Promise<void>;
  /** Takes up to `limit` entries due at `nowMs`, leasing them: each reappears at nowMs + leaseMs unless removed or moved. */
  claimDue(tenantId: number, nowMs: number, leaseMs: number, limit: number): Promise<string[]>;
  removeDue(tenantId: number, ids: readonly string[]): Promise<void>;
  /** The earliest wake-ups across tenants (one command). */
  wakeups(limit: number): Promise<Wakeups>;
  /** Points the tenant's wake-up at its earliest due entry (after claims have moved entries later); returns it (none: undefined). */
  settleWakeup(tenantId: number): Promise<number | undefined>;
  /** Sets a node's liveness entry in the wake-up index: the node promises to renew it before `untilMs`. */
  heartbeat(node: string, untilMs: number): Promise<void>;
  /** Removes a node's liveness entry; true only for the one call that removed it (that caller recovers what the node timed). */
  retire(node: string): Promise<boolean>;

  enqueue(tenantId: number, serviceId: number, entries: readonly QueueEntry[]): Promise<void>;
  /**
   * Takes callbacks from the head of a service's queue until `maxPending` of them are pending an
   * agent (dial pacing). Each one taken becomes pending and due at `watchdogAtMs` (not announced:
   * the taking node times its watchdogs), atomically, so a node that dies right after taking them
   * loses nothing. `maxPending` is at most MAX_PENDING.
   */
  take(tenantId: number, serviceId: number, maxPending: number, watchdogAtMs: number): Promise<Taken>;
  /** Whether any callback waits in a service's queue (one command: a cheap look before a take on news of a free agent). */
  hasWaiting(tenantId: number, serviceId: number): Promise<boolean>;
  /** The callback has an agent: it no longer counts against dial pacing. (A pending entry whose watchdog passed PENDING_STALE_MS ago is dropped by take.) */
  agentFound(tenantId: number, serviceId: number, id: string): Promise<void>;
  /** An attempt ended without an agent; the callback waits in the queue again at `score`. */
  requeue(tenantId: number, serviceId: number, id: string, score: number): Promise<void>;
  /** An attempt ended; the callback pauses out of the queue until `atMs`. */
  pause(tenantId: number, serviceId: number, id: string, atMs: number): Promise<void>;
  /**
   * The callback is finished: out of its queue (waiting or pending) and the due index. With a
   * sample (it reached an agent, and agentFound took it out of the pending ones) only the due entry
   * goes, and the sample is recorded.
   */
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

/** The most callbacks one queue may have pending an agent (one take reads this many members). */
export const MAX_PENDING = 500;

/**
 * A pending entry whose watchdog passed this long ago is left over (a node died between finding an
 * agent and saying so): take drops it. No attempt waits that long for an agent.
 */
export const PENDING_STALE_MS = 3600_000;

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
