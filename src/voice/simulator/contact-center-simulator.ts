/**
 * The built-in contact center: a `VoicePort` that needs no telephony. It runs on a `SimClock`, so a
 * day of calls plays in seconds, and draws every random choice from one seeded `Prng` in an order
 * fixed by the commands and the clock, so the same seed and the same commands at the same simulated
 * times give exactly the same events. The engine, the demo, tests and benchmarks all drive it.
 *
 * Model
 * - Each configured queue (`tenant/queue`) has agents `tenant/queue/agent-N`, each free, reserved
 *   (held for one dial key), talking, or in wrap-up. Leaving free emits `agent_not_ready`, coming
 *   back emits `agent_ready`; `start()` announces every agent ready.
 * - `dial` places one call per dial key, ever (the ledger). A repeated key is never dialed again: it
 *   is answered, like an HTTP idempotency key, with the latest event of the key's call (`answered`
 *   while the customer waits, `connected` while talking, the final event once over; nothing while
 *   it rings: the outcome is still to come), because GES repeats a dial when it heard nothing and
 *   the events it missed may be lost for good. The outcome is drawn from the customer
 *   mix (with the per-number override): answered after a log-normal time-to-answer, no_answer at the
 *   ring timeout, busy / invalid_number / machine after a few seconds. With `agentId` (agent-first)
 *   the agent must be held for that key (or be free, and is then taken) or the dial `failed`.
 * - An answered customer waits on the line for `connect`; after `customerPatienceSec` without one
 *   they hang up (`call_ended`, 0 talk seconds), so no call is left open forever.
 * - `route_inbound` takes an announced inbound call (`inbound_call`, call ids `inbound-N`) to the
 *   longest-idle free agent of its queue: `connected`, then `call_ended` with the talk seconds, as
 *   for an outbound call. With no free agent the caller waits in the queue's line, ahead of any later
 *   reserve, until an agent frees up or `customerPatienceSec` runs out (`call_ended`, 0 talk
 *   seconds). Without a queue (the call matched nothing) the platform's default treatment is
 *   simulated as an immediate `call_ended`. One route per dial key `in:<callId>`; repeats are ignored.
 * - `connect` bridges an answered call to an agent held for the key, or a free one: `connected`, a
 *   log-normal handle time, `call_ended` with the talk seconds, the configured wrap-up, then ready.
 * - `cancel` stops a ringing call silently (no event for it ever), hangs up an answered one
 *   (`call_ended`, 0 talk seconds) or a connected one (`call_ended` with the talk so far, then the
 *   agent's wrap-up).
 * - A reservation lives as long as its attempt: when the attempt ends without a connection (a
 *   failure outcome, an abandoned answer, `cancel`, a connect that came too late) the agent held for
 *   that key is given back, so a forgotten `release_agent` cannot leak an agent; a reserve for an
 *   attempt already over holds nobody (below). `release_agent` gives an agent back earlier.
 * - Commands are taken by `send` (validated, ledger updated) and carried out on the clock after
 *   `commandLatencyMs` (default 0: the next step of the clock at the same instant). Events are
 *   therefore never delivered inside `send`, and commands are carried out in the order sent.
 * - A command the simulator cannot carry out is answered, never thrown: unknown queue → `failed`
 *   (dial) / `no_agent` (reserve) / `failed` (route_inbound, also for a call never announced);
 *   connect to a call never answered → `failed`; connect with an agent that is neither held for the
 *   key nor free → `no_agent`. A `reserve_agent` or `connect` for a call already connected or over
 *   is answered with the call's latest event, as a repeated dial is (so a late reserve does not hold
 *   a second agent, and GES learns what it missed). Repeats are idempotent: a second reserve for a
 *   waiting call answers with the agent already held, a second release is ignored.
 *   Only a malformed command, or one sent while stopped, is refused (rejected promise).
 */
import type { DialFailure, DialKey, VoiceCommand, VoiceEvent, VoiceEventHandler, VoicePort } from '../voice-port.ts';
import { CUSTOMER_OUTCOME_KEYS, DEFAULT_CUSTOMER_OUTCOMES, mixCustomerOutcomes, validateCustomerOutcomes, type CustomerOutcome, type CustomerOutcomes } from './customer-outcomes.ts';
import { VoiceEventHandlers, throwHandlerErrors } from '../voice-event-handlers.ts';
import { DialLedger, type ReadonlyDialLedger } from './dial-ledger.ts';
import { Prng, type Seed } from './prng.ts';
import { QueueStats, type QueueStatsSnapshot } from './queue-stats.ts';
import type { ScheduledTask, SimClock } from './sim-clock.ts';

export interface MeanSd {
  mean: number;
  sd: number;
}

export interface SimQueueConfig {
  agents: number;
  /** Talk time of a connected call, seconds (log-normal with this mean and sd). */
  handleTimeSec: MeanSd;
  /** After-call work before the agent is ready again, seconds. Default 0. */
  wrapUpSec?: number;
}

/** An inbound call the simulator announces at `atMs` (epoch ms on the sim clock). */
export interface InboundCallSpec {
  atMs: number;
  tenant: string;
  toNumber: string;
  fromNumber: string;
  digits?: string;
}

export interface ContactCenterSimulatorConfig {
  seed: Seed;
  clock: SimClock;
  /** Keyed `${tenant}/${queue}`. */
  queues: Readonly<Record<string, SimQueueConfig>>;
  /** Outcome probabilities of a dial, summing to 1. Default DEFAULT_CUSTOMER_OUTCOMES. */
  customers?: CustomerOutcomes;
  /** Time from dial to pick-up of answered (and, for timing, machine-free) calls. Default mean 8 s, sd 4 s. */
  timeToAnswerSec?: MeanSd;
  /** How long an unanswered call rings. Default 30 s. */
  ringTimeoutSec?: number;
  /** How long an answered customer waits for `connect` before hanging up. Default 60 s. */
  customerPatienceSec?: number;
  /** Delay between `send` and the command taking effect. Default 0 (next clock step, same instant). */
  commandLatencyMs?: number;
  /** Per-number override of the outcome mix (see mixCustomerOutcomes), e.g. to make a test number always busy. */
  perNumber?: (phone: string) => Partial<CustomerOutcomes> | undefined;
  inboundCalls?: readonly InboundCallSpec[];
}

export type AgentState = 'free' | 'reserved' | 'talking' | 'wrap_up';

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
}

/** How soon the network reports a busy line, an invalid number, a machine (uniform, seconds). */
const BUSY_AFTER_SEC: readonly [number, number] = [1, 3];
const INVALID_AFTER_SEC: readonly [number, number] = [0.2, 1];
const MACHINE_AFTER_SEC: readonly [number, number] = [3, 8];

const DEFAULT_TIME_TO_ANSWER: MeanSd = { mean: 8, sd: 4 };
const DEFAULT_RING_TIMEOUT_SEC = 30;
const DEFAULT_PATIENCE_SEC = 60;

interface QueueRuntime {
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

interface Agent {
  readonly id: string;
  readonly queue: QueueRuntime;
  state: AgentState;
  /** The key the agent is held for or talking on. */
  dialKey: DialKey | undefined;
  /** When the agent last became free: the longest-idle agent is reserved first, as an ACD would. */
  freeSince: number;
}

type CallPhase = 'ringing' | 'answered' | 'connected';

interface Call {
  readonly dialKey: DialKey;
  readonly queue: QueueRuntime;
  phase: CallPhase;
  timer: ScheduledTask | undefined;
  agent: Agent | undefined;
  connectedAt: number;
}

type Outcome = { type: 'answered' } | { type: Exclude<DialFailure, 'failed'> };

const OUTCOME_EVENT: Record<CustomerOutcome, Outcome['type']> = {
  answer: 'answered',
  busy: 'busy',
  noAnswer: 'no_answer',
  machine: 'machine',
  invalid: 'invalid_number',
};

export class ContactCenterSimulator implements VoicePort {
  readonly clock: SimClock;
  readonly #prng: Prng;
  readonly #customers: CustomerOutcomes;
  readonly #timeToAnswer: MeanSd;
  readonly #ringTimeoutMs: number;
  readonly #patienceMs: number;
  readonly #latencyMs: number;
  readonly #perNumber: ((phone: string) => Partial<CustomerOutcomes> | undefined) | undefined;
  readonly #inbound: readonly InboundCallSpec[];
  readonly #inboundDelivered = new Set<number>();
  /** Call ids announced by `inbound_call`, which `route_inbound` may name. */
  readonly #inboundAnnounced = new Set<string>();
  /** Dial keys of `route_inbound` commands taken: a repeat is ignored, across restarts too. */
  readonly #inboundRouted = new Set<DialKey>();

  readonly #queues = new Map<string, QueueRuntime>();
  readonly #agents = new Map<string, Agent>();
  readonly #calls = new Map<DialKey, Call>();
  /**
   * The latest event of each key's call (outcome, connected, call_ended; not the answers to
   * reserve or connect): what a repeated dial, or a reserve or connect that comes too late, is told.
   */
  readonly #latest = new Map<DialKey, VoiceEvent>();
  /** Agent held per dial key (reserve_agent, or taken by an agent-first dial). */
  readonly #held = new Map<DialKey, Agent>();
  readonly #ledger = new DialLedger();
  readonly #handlers = new VoiceEventHandlers();
  /** Every clock task of the current session, so stop() can withdraw them. */
  readonly #tasks = new Set<ScheduledTask>();
  readonly #handlerErrors: unknown[] = [];
  #running = false;
  #inTask = false;
  #stopPending = false;

  constructor(config: ContactCenterSimulatorConfig) {
    this.clock = config.clock;
    this.#prng = new Prng(config.seed);
    this.#customers = { ...(config.customers ?? DEFAULT_CUSTOMER_OUTCOMES) };
    validateCustomerOutcomes(this.#customers);
    this.#timeToAnswer = { ...(config.timeToAnswerSec ?? DEFAULT_TIME_TO_ANSWER) };
    checkMeanSd(this.#timeToAnswer, 'timeToAnswerSec');
    this.#ringTimeoutMs = secondsToMs(positive(config.ringTimeoutSec ?? DEFAULT_RING_TIMEOUT_SEC, 'ringTimeoutSec'));
    this.#patienceMs = secondsToMs(positive(config.customerPatienceSec ?? DEFAULT_PATIENCE_SEC, 'customerPatienceSec'));
    this.#latencyMs = nonNegative(config.commandLatencyMs ?? 0, 'commandLatencyMs');
    this.#perNumber = config.perNumber;
    this.#inbound = [...(config.inboundCalls ?? [])];

    for (const [key, q] of Object.entries(config.queues)) {
      const slash = key.indexOf('/');
      if (slash <= 0 || slash === key.length - 1) throw new RangeError(`queue key must be "tenant/queue" (got ${JSON.stringify(key)})`);
      if (!Number.isInteger(q.agents) || q.agents < 0) throw new RangeError(`queues["${key}"].agents must be an integer >= 0 (got ${q.agents})`);
      checkMeanSd(q.handleTimeSec, `queues["${key}"].handleTimeSec`);
      const runtime: QueueRuntime = {
        key,
        tenant: key.slice(0, slash),
        queue: key.slice(slash + 1),
        handleTimeSec: { ...q.handleTimeSec },
        wrapUpSec: nonNegative(q.wrapUpSec ?? 0, `queues["${key}"].wrapUpSec`),
        agents: [],
        counts: { free: q.agents, reserved: 0, talking: 0, wrap_up: 0 },
        stats: new QueueStats(),
        inboundLine: [],
      };
      for (let i = 1; i <= q.agents; i += 1) {
        const agent: Agent = { id: `${key}/agent-${i}`, queue: runtime, state: 'free', dialKey: undefined, freeSince: this.clock.now() };
        runtime.agents.push(agent);
        this.#agents.set(agent.id, agent);
      }
      this.#queues.set(key, runtime);
    }
  }

  // ---- VoicePort -------------------------------------------------------------------------------

  send(command: VoiceCommand): Promise<void> {
    const problem = commandProblem(command);
    if (problem !== undefined) return Promise.reject(new TypeError(`invalid voice command: ${problem}`));
    if (!this.#running) return Promise.reject(new Error(`contact-center simulator is not running (command ${command.type} ${command.dialKey})`));
    // The ledger is updated when the command is taken, not when it is carried out, so a repeat sent
    // before the first took effect is still recognised.
    if (command.type === 'dial' && !this.#ledger.receive(command.dialKey)) {
      // Answered in turn with the other commands, so it reflects those sent before it.
      this.#after(this.#latencyMs, () => this.#replay(command.dialKey));
      return Promise.resolve();
    }
    if (command.type === 'route_inbound') {
      if (this.#inboundRouted.has(command.dialKey)) return Promise.resolve();
      this.#inboundRouted.add(command.dialKey);
    }
    this.#after(this.#latencyMs, () => this.#execute(command));
    return Promise.resolve();
  }

  onEvent(handler: VoiceEventHandler): () => void {
    return this.#handlers.subscribe(handler);
  }

  availableAgents(tenant: string, queue: string): number {
    if (!this.#running) return 0;
    return this.#queues.get(`${tenant}/${queue}`)?.counts.free ?? 0;
  }

  agentsLoggedIn(tenant: string, queue: string): number {
    if (!this.#running) return 0;
    return this.#queues.get(`${tenant}/${queue}`)?.agents.length ?? 0;
  }

  /**
   * Logs every agent in (all free, announced ready at the current instant) and schedules the
   * inbound calls not yet delivered. Starting again after stop() begins a new session: calls of
   * the old one are gone, the ledger and statistics remain (a dial key stays spent across restarts).
   */
  start(): Promise<void> {
    if (this.#running) return Promise.resolve();
    if (this.#stopPending) this.#logOut();
    this.#running = true;
    const now = this.clock.now();
    for (const agent of this.#agents.values()) agent.freeSince = now;
    this.#after(0, () => {
      for (const queue of this.#queues.values()) {
        for (const agent of queue.agents) this.#emit({ type: 'agent_ready', tenant: queue.tenant, queue: queue.queue, agentId: agent.id, at: this.clock.now() });
      }
    });
    this.#inbound.forEach((call, index) => {
      if (this.#inboundDelivered.has(index)) return;
      this.#task(call.atMs, () => {
        this.#inboundDelivered.add(index);
        this.#inboundAnnounced.add(`inbound-${index + 1}`);
        this.#emit({ type: 'inbound_call', callId: `inbound-${index + 1}`, tenant: call.tenant, toNumber: call.toNumber, fromNumber: call.fromNumber, ...(call.digits === undefined ? {} : { digits: call.digits }), at: this.clock.now() });
      });
    });
    return Promise.resolve();
  }

  /** Withdraws everything pending (no event is delivered after stop) and logs the agents out. */
  stop(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    this.#running = false;
    // Called from an event handler, the current step is half done: it finishes (silently: #emit
    // delivers nothing once stopped) and the session is torn down right after it.
    if (this.#inTask) this.#stopPending = true;
    else this.#logOut();
    return Promise.resolve();
  }

  #logOut(): void {
    this.#stopPending = false;
    for (const task of this.#tasks) task.cancel();
    this.#tasks.clear();
    // Calls cut off by the stop end without an event: a repeat must not report them as still on.
    for (const key of this.#calls.keys()) this.#latest.delete(key);
    this.#calls.clear();
    this.#held.clear();
    // Logged out: nobody is held or talking any more (availableAgents answers 0 while stopped).
    for (const queue of this.#queues.values()) {
      for (const agent of queue.agents) {
        agent.state = 'free';
        agent.dialKey = undefined;
      }
      Object.assign(queue.counts, { free: queue.agents.length, reserved: 0, talking: 0, wrap_up: 0 });
      queue.inboundLine.length = 0;
    }
  }

  // ---- Inspection ------------------------------------------------------------------------------

  get running(): boolean {
    return this.#running;
  }

  /** Dial commands by key: received count, whether dialed, duplicates. */
  get ledger(): ReadonlyDialLedger {
    return this.#ledger;
  }

  /** Distinct dial keys for which a call was placed. */
  dialsPlaced(): number {
    return this.#ledger.dialsPlaced;
  }

  /** Dial commands ignored because their key had been seen. */
  duplicateDials(): number {
    return this.#ledger.duplicates;
  }

  /** State of one agent, or undefined for an unknown id. */
  agentState(agentId: string): AgentState | undefined {
    return this.#agents.get(agentId)?.state;
  }

  /** Agent ids of a queue, in order (empty for an unknown queue). */
  agentIds(tenant: string, queue: string): string[] {
    return this.#queues.get(`${tenant}/${queue}`)?.agents.map((a) => a.id) ?? [];
  }

  queueStats(tenant: string, queue: string): QueueStatsSnapshot | undefined {
    return this.#queues.get(`${tenant}/${queue}`)?.stats.snapshot();
  }

  snapshot(): SimulatorSnapshot {
    const queues: Record<string, QueueSnapshot> = {};
    for (const q of this.#queues.values()) {
      const free = this.#running ? q.counts.free : 0;
      queues[q.key] = {
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
    return {
      at: this.clock.now(),
      running: this.#running,
      queues,
      activeCalls: this.#calls.size,
      dialsPlaced: this.#ledger.dialsPlaced,
      duplicateDials: this.#ledger.duplicates,
    };
  }

  // ---- Commands --------------------------------------------------------------------------------

  #execute(command: VoiceCommand): void {
    switch (command.type) {
      case 'dial':
        return this.#dial(command.dialKey, command.tenant, command.queue, command.phone, command.agentId);
      case 'reserve_agent':
        return this.#reserve(command.dialKey, command.tenant, command.queue);
      case 'connect':
        return this.#connect(command.dialKey, command.agentId);
      case 'release_agent':
        return this.#release(command.dialKey, command.agentId);
      case 'cancel':
        return this.#cancel(command.dialKey);
      case 'route_inbound':
        return this.#routeInbound(command.dialKey, command.callId, command.tenant, command.queue);
    }
  }

  #dial(dialKey: DialKey, tenant: string, queueName: string, phone: string, agentId: string | undefined): void {
    const queue = this.#queues.get(`${tenant}/${queueName}`);
    if (queue === undefined) return this.#callEvent({ type: 'failed', dialKey, at: this.clock.now() });
    if (agentId !== undefined) {
      const agent = this.#agents.get(agentId);
      const heldHere = agent !== undefined && agent.state === 'reserved' && agent.dialKey === dialKey;
      if (agent === undefined || (!heldHere && agent.state !== 'free')) {
        queue.stats.recordOutcome('failed');
        return this.#callEvent({ type: 'failed', dialKey, at: this.clock.now() });
      }
      if (!heldHere) this.#hold(agent, dialKey);
    }
    this.#ledger.markDialed(dialKey);
    queue.stats.recordDial();

    const outcome = this.#drawOutcome(phone);
    const delayMs = this.#outcomeDelayMs(outcome);
    const call: Call = { dialKey, queue, phase: 'ringing', timer: undefined, agent: undefined, connectedAt: 0 };
    this.#calls.set(dialKey, call);
    call.timer = this.#after(delayMs, () => {
      call.timer = undefined;
      queue.stats.recordOutcome(outcome);
      this.#ledger.recordOutcome(dialKey, outcome);
      if (outcome === 'answered') {
        call.phase = 'answered';
        call.timer = this.#after(this.#patienceMs, () => this.#abandon(call));
        this.#callEvent({ type: 'answered', dialKey, at: this.clock.now() });
        return;
      }
      this.#calls.delete(dialKey);
      this.#callEvent({ type: outcome, dialKey, at: this.clock.now() });
      this.#giveBackHeld(dialKey);
    });
  }

  /** A repeated dial: the call's latest event again, or nothing while it rings (or was never placed). */
  #replay(dialKey: DialKey): void {
    const latest = this.#latest.get(dialKey);
    if (latest === undefined) return;
    this.#ledger.recordReplay();
    this.#emit(latest);
  }

  /** The call of the key is connected or over: its latest event, what a late reserve or connect is told. */
  #movedOn(dialKey: DialKey): VoiceEvent | undefined {
    const latest = this.#latest.get(dialKey);
    return latest === undefined || latest.type === 'answered' ? undefined : latest;
  }

  #reserve(dialKey: DialKey, tenant: string, queueName: string): void {
    const movedOn = this.#movedOn(dialKey);
    if (movedOn !== undefined) return this.#emit(movedOn);
    const held = this.#held.get(dialKey);
    if (held !== undefined) return this.#emit({ type: 'agent_reserved', dialKey, agentId: held.id, at: this.clock.now() });
    // An attempt that is already over without an event (its ringing call cancelled, or cut off by a
    // stop) would hold the agent for nothing: the agent stays free.
    if (this.#attemptOver(dialKey)) return this.#emit({ type: 'no_agent', dialKey, at: this.clock.now() });
    const queue = this.#queues.get(`${tenant}/${queueName}`);
    const best = queue === undefined ? undefined : longestIdleFree(queue);
    if (best === undefined) return this.#emit({ type: 'no_agent', dialKey, at: this.clock.now() });
    this.#hold(best, dialKey);
    this.#emit({ type: 'agent_reserved', dialKey, agentId: best.id, at: this.clock.now() });
  }

  #connect(dialKey: DialKey, requestedAgentId: string | undefined): void {
    const call = this.#calls.get(dialKey);
    // Without an agent id, the agent held for this attempt (agent first) is meant.
    const agentId = requestedAgentId ?? this.#held.get(dialKey)?.id ?? '';
    if (call === undefined || call.phase !== 'answered') {
      // Too late (the customer is gone): the agent held for the attempt is not needed any more.
      if (this.#attemptOver(dialKey)) this.#giveBackHeld(dialKey);
      // Already bridged, or over: a retried or late connect is told where the call is.
      const movedOn = this.#movedOn(dialKey);
      return this.#emit(movedOn ?? { type: 'failed', dialKey, at: this.clock.now() });
    }
    const agent = this.#agents.get(agentId);
    const heldHere = agent !== undefined && agent.state === 'reserved' && agent.dialKey === dialKey;
    if (agent === undefined || (!heldHere && agent.state !== 'free')) return this.#emit({ type: 'no_agent', dialKey, at: this.clock.now() });
    this.#bridge(call, agent);
  }

  /** Puts a waiting caller (answered outbound, or routed inbound) through to the agent. */
  #bridge(call: Call, agent: Agent): void {
    const dialKey = call.dialKey;
    call.timer?.cancel(); // the patience timer: the customer is now talking
    leaveLine(call);
    if (this.#held.get(dialKey) === agent) this.#held.delete(dialKey);
    this.#setState(agent, 'talking', dialKey);
    call.phase = 'connected';
    call.agent = agent;
    call.connectedAt = this.clock.now();
    call.queue.stats.recordConnected();
    this.#ledger.recordConnected(dialKey);
    this.#callEvent({ type: 'connected', dialKey, agentId: agent.id, at: this.clock.now() });
    const talkMs = Math.max(1, secondsToMs(this.#prng.lognormal(call.queue.handleTimeSec.mean, call.queue.handleTimeSec.sd)));
    call.timer = this.#after(talkMs, () => this.#hangUp(call));
  }

  #routeInbound(dialKey: DialKey, callId: string, tenant: string, queueName: string | undefined): void {
    const queue = queueName === undefined ? undefined : this.#queues.get(`${tenant}/${queueName}`);
    if (!this.#inboundAnnounced.has(callId) || (queueName !== undefined && queue === undefined)) {
      return this.#emit({ type: 'failed', dialKey, at: this.clock.now() });
    }
    // No queue: the default treatment (an announcement, a hang-up) is not modelled; the call ends.
    if (queue === undefined) return this.#emit({ type: 'call_ended', dialKey, at: this.clock.now(), talkSeconds: 0 });
    const call: Call = { dialKey, queue, phase: 'answered', timer: undefined, agent: undefined, connectedAt: 0 };
    this.#calls.set(dialKey, call);
    const agent = longestIdleFree(queue);
    if (agent !== undefined) return this.#bridge(call, agent);
    queue.inboundLine.push(call);
    call.timer = this.#after(this.#patienceMs, () => this.#abandon(call));
  }

  /** Gives free agents of the queue to the callers waiting in its inbound line, in order. */
  #serveInboundLine(queue: QueueRuntime): void {
    for (;;) {
      const call = queue.inboundLine[0];
      const agent = longestIdleFree(queue);
      if (call === undefined || agent === undefined) return;
      this.#bridge(call, agent);
    }
  }

  #release(dialKey: DialKey, agentId: string): void {
    const agent = this.#held.get(dialKey);
    // Only the agent held for this key; anything else (already released, talking, another key) is ignored.
    if (agent === undefined || agent.id !== agentId) return;
    this.#held.delete(dialKey);
    this.#setState(agent, 'free', undefined);
  }

  #cancel(dialKey: DialKey): void {
    const call = this.#calls.get(dialKey);
    if (call !== undefined) {
      call.timer?.cancel();
      call.timer = undefined;
      if (call.phase === 'ringing') {
        // Stopped before the customer picked up: as if never answered, no event.
        this.#calls.delete(dialKey);
      } else if (call.phase === 'answered') {
        this.#abandon(call);
        return;
      } else {
        this.#hangUp(call);
        return;
      }
    }
    this.#giveBackHeld(dialKey);
  }

  // ---- Call life -------------------------------------------------------------------------------

  /** The answered customer hangs up without having been connected. */
  #abandon(call: Call): void {
    call.timer?.cancel();
    leaveLine(call);
    this.#calls.delete(call.dialKey);
    call.queue.stats.recordAbandoned();
    this.#callEvent({ type: 'call_ended', dialKey: call.dialKey, at: this.clock.now(), talkSeconds: 0 });
    this.#giveBackHeld(call.dialKey);
  }

  /** A connected call ends (handle time over, or cancel): the agent goes to wrap-up, then ready. */
  #hangUp(call: Call): void {
    call.timer?.cancel();
    this.#calls.delete(call.dialKey);
    const agent = call.agent!;
    const talkMs = this.clock.now() - call.connectedAt;
    const wrapUpSec = agent.queue.wrapUpSec;
    call.queue.stats.recordCompleted(talkMs / 1000, wrapUpSec);
    this.#callEvent({ type: 'call_ended', dialKey: call.dialKey, at: this.clock.now(), talkSeconds: talkMs / 1000 });
    if (wrapUpSec === 0) {
      this.#setState(agent, 'free', undefined);
    } else {
      this.#setState(agent, 'wrap_up', call.dialKey);
      this.#after(secondsToMs(wrapUpSec), () => this.#setState(agent, 'free', undefined));
    }
    // Another agent may still be held for this key (connect used a free one instead).
    this.#giveBackHeld(call.dialKey);
  }

  /** The key's call was placed and has finished. */
  #attemptOver(dialKey: DialKey): boolean {
    return this.#ledger.get(dialKey)?.dialed === true && !this.#calls.has(dialKey);
  }

  #drawOutcome(phone: string): Outcome['type'] {
    // Too few digits to be a number anywhere: the network refuses it, whatever the mix says.
    if ((phone.match(/\d/g)?.length ?? 0) < 3) return 'invalid_number';
    const override = this.#perNumber?.(phone);
    const mix = override === undefined ? this.#customers : mixCustomerOutcomes(this.#customers, override);
    const weights = CUSTOMER_OUTCOME_KEYS.map((key) => mix[key]);
    return OUTCOME_EVENT[CUSTOMER_OUTCOME_KEYS[this.#prng.pick(weights)]!];
  }

  #outcomeDelayMs(outcome: Outcome['type']): number {
    switch (outcome) {
      case 'answered': {
        // Cut just under the ring timeout rather than turned into no_answer, so the realised outcome
        // mix is exactly the configured one (tests and benchmarks reason from it).
        const t = secondsToMs(this.#prng.lognormal(this.#timeToAnswer.mean, this.#timeToAnswer.sd));
        return Math.min(t, this.#ringTimeoutMs - 1);
      }
      case 'no_answer':
        return this.#ringTimeoutMs;
      case 'busy':
        return secondsToMs(this.#prng.uniform(...BUSY_AFTER_SEC));
      case 'invalid_number':
        return secondsToMs(this.#prng.uniform(...INVALID_AFTER_SEC));
      case 'machine':
        return secondsToMs(this.#prng.uniform(...MACHINE_AFTER_SEC));
    }
  }

  // ---- Agents ----------------------------------------------------------------------------------

  #hold(agent: Agent, dialKey: DialKey): void {
    // One agent per key: a different one held before is given back rather than lost track of.
    this.#giveBackHeld(dialKey);
    this.#held.set(dialKey, agent);
    this.#setState(agent, 'reserved', dialKey);
  }

  /** The attempt is over without a connection: the agent held for it, if any, is ready again. */
  #giveBackHeld(dialKey: DialKey): void {
    const agent = this.#held.get(dialKey);
    if (agent === undefined) return;
    this.#held.delete(dialKey);
    this.#setState(agent, 'free', undefined);
  }

  /** The one place agent states change, so the counts and ready/not-ready events cannot disagree. */
  #setState(agent: Agent, state: AgentState, dialKey: DialKey | undefined): void {
    const before = agent.state;
    if (before === state && agent.dialKey === dialKey) return;
    const counts = agent.queue.counts;
    counts[before] -= 1;
    counts[state] += 1;
    agent.state = state;
    agent.dialKey = dialKey;
    const at = this.clock.now();
    const { tenant, queue } = agent.queue;
    if (state === 'free') {
      agent.freeSince = at;
      // Scheduled before agent_ready is announced, so a waiting inbound caller gets the agent
      // ahead of any reserve a subscriber sends on hearing it.
      const runtime = agent.queue;
      if (runtime.inboundLine.length > 0) this.#after(0, () => this.#serveInboundLine(runtime));
      if (before !== 'free') this.#emit({ type: 'agent_ready', tenant, queue, agentId: agent.id, at });
    } else if (before === 'free') {
      this.#emit({ type: 'agent_not_ready', tenant, queue, agentId: agent.id, at });
    }
  }

  // ---- Plumbing --------------------------------------------------------------------------------

  /** Emits an event of the key's call and remembers it as the call's latest. */
  #callEvent(event: VoiceEvent & { dialKey: DialKey }): void {
    this.#latest.set(event.dialKey, event);
    this.#emit(event);
  }

  #after(delayMs: number, fn: () => void): ScheduledTask {
    return this.#task(this.clock.now() + delayMs, fn);
  }

  #task(atMs: number, fn: () => void): ScheduledTask {
    const task = this.clock.schedule(atMs, () => {
      this.#tasks.delete(task);
      this.#inTask = true;
      try {
        fn();
      } finally {
        this.#inTask = false;
        if (this.#stopPending) this.#logOut();
      }
      this.#throwHandlerErrors();
    });
    this.#tasks.add(task);
    return task;
  }

  /**
   * Delivers to every handler. A handler that throws keeps the event from no other handler and the
   * simulator's step from no later state change; its error is held and rethrown at the end of the
   * clock step (see #task), so it surfaces from advanceTo instead of vanishing.
   */
  #emit(event: VoiceEvent): void {
    if (!this.#running) return;
    Object.freeze(event);
    for (const handler of this.#handlers.list()) {
      try {
        const settled = handler(event);
        // An async handler's failure cannot unwind the clock step that delivered the event; it is
        // kept and rethrown from the next step like a synchronous one.
        if (settled instanceof Promise) settled.catch((error: unknown) => this.#handlerErrors.push(error));
      } catch (error) {
        this.#handlerErrors.push(error);
      }
    }
  }

  #throwHandlerErrors(): void {
    throwHandlerErrors(this.#handlerErrors.splice(0));
  }
}

/** The free agent of the queue that has waited longest, as an ACD would choose. */
function longestIdleFree(queue: QueueRuntime): Agent | undefined {
  let best: Agent | undefined;
  for (const agent of queue.agents) {
    if (agent.state === 'free' && (best === undefined || agent.freeSince < best.freeSince)) best = agent;
  }
  return best;
}

/** Takes an inbound caller out of its queue's line, if waiting there. */
function leaveLine(call: Call): void {
  const line = call.queue.inboundLine;
  const at = line.indexOf(call);
  if (at >= 0) line.splice(at, 1);
}

function secondsToMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

function positive(value: number, what: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${what} must be > 0 (got ${value})`);
  return value;
}

function nonNegative(value: number, what: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`${what} must be >= 0 (got ${value})`);
  return value;
}

function checkMeanSd(value: MeanSd, what: string): void {
  positive(value.mean, `${what}.mean`);
  nonNegative(value.sd, `${what}.sd`);
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Why a command is malformed (wrong shape, not a refused request), or undefined when well formed. */
function commandProblem(command: unknown): string | undefined {
  if (typeof command !== 'object' || command === null) return 'not an object';
  const c = command as Record<string, unknown>;
  if (!isText(c.dialKey)) return 'dialKey must be a non-empty string';
  switch (c.type) {
    case 'dial':
      if (!isText(c.tenant) || !isText(c.queue)) return 'dial needs tenant and queue';
      if (typeof c.phone !== 'string') return 'dial needs a phone';
      if (c.agentId !== undefined && !isText(c.agentId)) return 'dial agentId must be a non-empty string when given';
      return undefined;
    case 'reserve_agent':
      return isText(c.tenant) && isText(c.queue) ? undefined : 'reserve_agent needs tenant and queue';
    case 'connect':
      return c.agentId === undefined || isText(c.agentId) ? undefined : 'connect agentId must be a non-empty string when given';
    case 'release_agent':
      return isText(c.agentId) ? undefined : `${c.type} needs agentId`;
    case 'cancel':
      return undefined;
    case 'route_inbound':
      if (!isText(c.callId) || !isText(c.tenant)) return 'route_inbound needs callId and tenant';
      if (c.dialKey !== `in:${c.callId}`) return 'route_inbound dialKey must be "in:" + callId';
      if (c.queue !== undefined && !isText(c.queue)) return 'route_inbound queue must be a non-empty string when given';
      if (c.userData !== undefined && (typeof c.userData !== 'object' || c.userData === null || Array.isArray(c.userData))) {
        return 'route_inbound userData must be an object when given';
      }
      return undefined;
    default:
      return `unknown type ${JSON.stringify(c.type)}`;
  }
}
