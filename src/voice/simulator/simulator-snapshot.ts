/** What the simulator shows of itself at an instant: per queue agent counts and statistics, calls, dials, holds. */
import type { QueueRuntime } from './contact-floor.ts';
import type { QueueStatsSnapshot } from './queue-stats.ts';

export interface QueueSnapshot {
  readonly tenant: string;
  readonly queue: string;
  readonly agents: number;
  readonly free: number;
  readonly reserved: number;
  readonly talking: number;
  readonly wrapUp: number;
  /** agents - free. */
  readonly busy: number;
  readonly stats: QueueStatsSnapshot;
}

export interface SimulatorSnapshot {
  readonly at: number;
  readonly running: boolean;
  readonly queues: Readonly<Record<string, QueueSnapshot>>;
  /** Calls placed (or inbound calls routed to a queue) and not finished: ringing, answered or waiting, connected. */
  readonly activeCalls: number;
  readonly dialsPlaced: number;
  readonly duplicateDials: number;
  /** Agents held for an attempt now (reserved, not yet connected nor released). */
  readonly agentsHeld: number;
  /** Holds freed by the safety-net expiry: each is a release_agent GES did not send. */
  readonly holdsExpired: number;
}

export function queueSnapshot(q: QueueRuntime, running: boolean): QueueSnapshot {
  const free = running ? q.counts.free : 0;
  return {
    tenant: q.tenant,
    queue: q.queue,
    agents: q.agents.length,
    free,
    reserved: q.counts.reserved,
    talking: q.counts.talking,
    wrapUp: q.counts.wrap_up,
    busy: q.agents.length - free,
    stats: q.stats.snapshot(),
  };
}
