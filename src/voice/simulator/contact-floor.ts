/**
 * The simulated contact floor: queues, their agents and the calls in progress, as plain records the
 * simulator and its agent pool share. Who may change what is theirs to say; this module only
 * builds the floor from the configuration and answers the two questions an ACD asks of it.
 */
import type { DialKey } from '../voice-port.ts';
import { QueueStats } from './queue-stats.ts';
import type { ScheduledTask } from './sim-clock.ts';
import type { MeanSd, SimQueueConfig } from './simulator-config.ts';

/** not_ready: set so by the platform after letting a preview time out (previewTimeoutSetsNotReady), for a while. */
export type AgentState = 'free' | 'reserved' | 'talking' | 'wrap_up' | 'not_ready';

export interface QueueRuntime {
  readonly key: string;
  readonly tenant: string;
  readonly queue: string;
  readonly handleTimeSec: MeanSd;
  readonly wrapUpSec: number;
  readonly agents: Agent[];
  readonly counts: Record<AgentState, number>;
  readonly stats: QueueStats;
  /** Routed inbound callers waiting for a free agent, first come first served. */
  readonly inboundLine: Call[];
}

export interface Agent {
  readonly id: string;
  readonly queue: QueueRuntime;
  state: AgentState;
  /** The key the agent is held for or talking on. */
  dialKey: DialKey | undefined;
  /** When the agent last became free: the longest-idle agent is reserved first, as an ACD would. */
  freeSince: number;
}

/** `machine`: a machine answered and the line is kept for GES's next command; `message`: the machine is being left the message. */
export type CallPhase = 'ringing' | 'answered' | 'connected' | 'machine' | 'message';

export interface Call {
  readonly dialKey: DialKey;
  readonly queue: QueueRuntime;
  phase: CallPhase;
  timer: ScheduledTask | undefined;
  agent: Agent | undefined;
  connectedAt: number;
}

/** The queues of the configuration (keys already checked), every agent free since `now`. */
export function buildQueues(queues: Readonly<Record<string, SimQueueConfig>>, now: number): Map<string, QueueRuntime> {
  const built = new Map<string, QueueRuntime>();
  for (const [key, q] of Object.entries(queues)) {
    const slash = key.indexOf('/');
    const runtime: QueueRuntime = {
      key,
      tenant: key.slice(0, slash),
      queue: key.slice(slash + 1),
      handleTimeSec: { ...q.handleTimeSec },
      wrapUpSec: q.wrapUpSec ?? 0,
      agents: [],
      counts: { free: q.agents, reserved: 0, talking: 0, wrap_up: 0, not_ready: 0 },
      stats: new QueueStats(),
      inboundLine: [],
    };
    for (let i = 1; i <= q.agents; i += 1) runtime.agents.push({ id: `${key}/agent-${i}`, queue: runtime, state: 'free', dialKey: undefined, freeSince: now });
    built.set(key, runtime);
  }
  return built;
}

/** The free agent of the queue that has waited longest, as an ACD would choose; never one of `exclude` (agents who rejected the callback). */
export function longestIdleFree(queue: QueueRuntime, exclude?: ReadonlySet<string>): Agent | undefined {
  let best: Agent | undefined;
  for (const agent of queue.agents) {
    if (exclude?.has(agent.id)) continue;
    if (agent.state === 'free' && (best === undefined || agent.freeSince < best.freeSince)) best = agent;
  }
  return best;
}

/** Takes an inbound caller out of its queue's line, if waiting there. */
export function leaveLine(call: Call): void {
  const line = call.queue.inboundLine;
  const at = line.indexOf(call);
  if (at >= 0) line.splice(at, 1);
}
