/**
 * The agents of the simulated floor: the one place their states change (so the counts and the
 * ready / not-ready events cannot disagree), and the agents held for attempts.
 *
 * Holding follows the contract (docs/VOICE-CONTRACT.md, "Holding agents"): an agent held for a
 * dial key stays held until GES releases it (`release_agent`), cancels the attempt, or the agent is
 * connected; the end of a call does not free it by itself, so an agent GES forgets is seen as
 * leaked rather than silently given back. The safety net: a hold with no call in progress for
 * `holdExpiryMs` is freed and counted (`holdsExpired`: each one is a release GES owed).
 */
import type { DialKey, VoiceEvent } from '../voice-port.ts';
import type { Agent, AgentState, QueueRuntime } from './contact-floor.ts';
import type { ScheduledTask } from './sim-clock.ts';

export interface AgentPoolHooks {
  now(): number;
  emit(event: VoiceEvent): void;
  after(delayMs: number, fn: () => void): ScheduledTask;
  /** An agent became free in a queue whose inbound line has callers. */
  lineWaiting(queue: QueueRuntime): void;
}

interface Hold {
  readonly agent: Agent;
  /** Running while the attempt has no call in progress. */
  expiry: ScheduledTask | undefined;
}

export class AgentPool {
  readonly queues: ReadonlyMap<string, QueueRuntime>;
  readonly agents = new Map<string, Agent>();
  readonly #hooks: AgentPoolHooks;
  readonly #expiryMs: number;
  readonly #holds = new Map<DialKey, Hold>();
  #expired = 0;

  constructor(queues: ReadonlyMap<string, QueueRuntime>, hooks: AgentPoolHooks, holdExpiryMs: number) {
    this.queues = queues;
    this.#hooks = hooks;
    this.#expiryMs = holdExpiryMs;
    for (const queue of queues.values()) for (const agent of queue.agents) this.agents.set(agent.id, agent);
  }

  /** The agent held for the key, if any. */
  heldFor(dialKey: DialKey): Agent | undefined {
    return this.#holds.get(dialKey)?.agent;
  }

  /** Agents held now, across queues. */
  get held(): number {
    return this.#holds.size;
  }

  /** Holds freed by the safety net since the start. */
  get holdsExpired(): number {
    return this.#expired;
  }

  /** Holds the agent for the key (one agent per key: another held before is freed, not lost track of). */
  hold(agent: Agent, dialKey: DialKey, callInProgress: boolean): void {
    this.free(dialKey);
    this.#holds.set(dialKey, { agent, expiry: undefined });
    this.setState(agent, 'reserved', dialKey);
    if (!callInProgress) this.callGone(dialKey);
  }

  /** The key's call is placed: its hold waits for the call, not for the expiry. */
  callStarted(dialKey: DialKey): void {
    const hold = this.#holds.get(dialKey);
    hold?.expiry?.cancel();
    if (hold !== undefined) hold.expiry = undefined;
  }

  /** The key has no call in progress (not placed yet, or over): its hold starts to expire. */
  callGone(dialKey: DialKey): void {
    const hold = this.#holds.get(dialKey);
    if (hold === undefined || hold.expiry !== undefined) return;
    hold.expiry = this.#hooks.after(this.#expiryMs, () => {
      if (this.#holds.get(dialKey) !== hold) return;
      this.#expired += 1;
      this.free(dialKey);
    });
  }

  /** The held agent takes the key's call: no longer held, about to talk. */
  take(dialKey: DialKey, agent: Agent): void {
    const hold = this.#holds.get(dialKey);
    if (hold?.agent !== agent) return;
    hold.expiry?.cancel();
    this.#holds.delete(dialKey);
  }

  /** Frees the agent held for the key (release_agent, cancel): ready again. */
  free(dialKey: DialKey): void {
    const hold = this.#holds.get(dialKey);
    if (hold === undefined) return;
    hold.expiry?.cancel();
    this.#holds.delete(dialKey);
    this.setState(hold.agent, 'free', undefined);
  }

  /** release_agent: only the agent held for this key; anything else (released already, talking, another key) changes nothing. */
  release(dialKey: DialKey, agentId: string): void {
    if (this.#holds.get(dialKey)?.agent.id === agentId) this.free(dialKey);
  }

  /** The one place agent states change. */
  setState(agent: Agent, state: AgentState, dialKey: DialKey | undefined): void {
    const before = agent.state;
    if (before === state && agent.dialKey === dialKey) return;
    const counts = agent.queue.counts;
    counts[before] -= 1;
    counts[state] += 1;
    agent.state = state;
    agent.dialKey = dialKey;
    const at = this.#hooks.now();
    const { tenant, queue } = agent.queue;
    if (state === 'free') {
      agent.freeSince = at;
      // Before agent_ready is announced, so a waiting inbound caller gets the agent ahead of any
      // reserve a subscriber sends on hearing it.
      if (agent.queue.inboundLine.length > 0) this.#hooks.lineWaiting(agent.queue);
      if (before !== 'free') this.#hooks.emit({ type: 'agent_ready', tenant, queue, agentId: agent.id, at });
    } else if (before === 'free' || state === 'not_ready') {
      // Not ready after a preview timeout is said even by an agent who was held (not free) before.
      this.#hooks.emit({ type: 'agent_not_ready', tenant, queue, agentId: agent.id, at });
    }
  }

  /**
   * The agent held for the key let its preview time out and the service asks for not ready: the
   * hold ends (nothing left for GES to release) and the agent is not ready for `forMs`, then free.
   */
  setNotReady(dialKey: DialKey, forMs: number): void {
    const hold = this.#holds.get(dialKey);
    if (hold === undefined) return;
    hold.expiry?.cancel();
    this.#holds.delete(dialKey);
    const agent = hold.agent;
    this.setState(agent, 'not_ready', undefined);
    this.#hooks.after(forMs, () => {
      if (agent.state === 'not_ready') this.setState(agent, 'free', undefined);
    });
  }

  /** Everyone logged out (the simulator stopped): nobody held, talking or waiting, no event. */
  logOut(): void {
    for (const hold of this.#holds.values()) hold.expiry?.cancel();
    this.#holds.clear();
    for (const queue of this.queues.values()) {
      for (const agent of queue.agents) {
        agent.state = 'free';
        agent.dialKey = undefined;
      }
      Object.assign(queue.counts, { free: queue.agents.length, reserved: 0, talking: 0, wrap_up: 0, not_ready: 0 });
      queue.inboundLine.length = 0;
    }
  }
}
