/**
 * The built-in contact center: a `VoicePort` that needs no telephony. It runs on a `SimClock`, so a
 * day of calls plays in seconds, and draws every random choice from one seeded `Prng` in an order
 * fixed by the commands and the clock, so the same seed and the same commands at the same simulated
 * times give exactly the same events. The engine, the demo, tests and benchmarks all drive it, and
 * it keeps the voice contract (docs/VOICE-CONTRACT.md) as a platform must.
 *
 * Model (the floor: contact-floor.ts; agents and holds: agent-pool.ts; outcomes: dial-outcome-draw.ts)
 * - Each configured queue (`tenant/queue`) has agents `tenant/queue/agent-N`, each free, reserved
 *   (held for one dial key), talking, or in wrap-up. Leaving free emits `agent_not_ready`, coming
 *   back emits `agent_ready`; `start()` announces every agent ready.
 * - `dial` places one call per dial key, ever (the ledger). A repeated key is never dialed again: it
 *   is answered with the latest event of the key's call (`answered` while the customer waits,
 *   `connected` while talking, the final event once over; nothing while it rings). The outcome is
 *   drawn from the customer mix: answered after a log-normal time-to-answer, no_answer at the ring
 *   timeout, busy / invalid_number / machine after a few seconds. With `agentId` (agent-first) the
 *   agent must be held for that key (or be free, and is then taken) or the dial `failed`.
 * - An answered customer waits on the line for `connect`; after `customerPatienceSec` without one
 *   they hang up (`call_ended`, 0 talk seconds), so no call is left open forever.
 * - `connect` bridges an answered call to an agent held for the key, or a free one: `connected`, a
 *   log-normal handle time, `call_ended` with the talk seconds, the configured wrap-up, then ready.
 * - Holds: an agent held for a key stays held until `release_agent`, `cancel` or its connection;
 *   the end of a call without one does not free it (GES owes the release), the safety-net expiry
 *   does, and counts it.
 * - `cancel` produces no event: it stops a ringing call, hangs up an answered or connected one
 *   (the agent goes to wrap-up), frees the agent held for the key and spends the key (a later
 *   dial is not placed; later commands are told `failed`).
 * - `route_inbound` takes an announced inbound call (`inbound_call`, call ids `inbound-N`) to the
 *   longest-idle free agent of its queue, or lets the caller wait in the queue's line, ahead of any
 *   later reserve, until an agent frees up or the patience runs out. Without a queue the default
 *   treatment is an immediate `call_ended`. One route per dial key `in:<callId>`.
 * - Restart: calls cut off by `stop()` (or in flight in an earlier run, `resume`) are reported at the
 *   next start: `call_ended` with the talk so far if connected, else `failed` reason
 *   `platform_restart`; their keys stay spent.
 * - Commands are validated by the contract's own validator (voice-contract.ts), taken by `send`
 *   (ledger updated) and carried out on the clock after `commandLatencyMs`, so events are never
 *   delivered inside `send`, and commands are carried out in the order sent. A command that cannot
 *   be carried out is answered, never thrown (unknown queue → `failed` / `no_agent`, connect to a
 *   call never answered → `failed`, an agent neither held nor free → `no_agent`); a `reserve_agent`
 *   or `connect` for a call already connected or over is answered with the call's latest event.
 *   Only a malformed command, or one sent while stopped, is refused (rejected promise).
 * - `disposition_request` shows the dialog to the agent who talked on the key (disposition-desk.ts):
 *   a seeded choice, or the number's override, sent as `disposition` after the agent's drawn time,
 *   or nothing when the agent lets it time out; a stop withdraws choices not yet sent.
 * - `confirm_customer` (call-flows.ts): the answered customer hears the prompt, their patience
 *   paused, and confirms, declines or lets it time out (the `confirmation` mix, or `perNumberConfirm`);
 *   they stay on the line either way. `preview`: the agent held for the key accepts, rejects or lets
 *   it time out (`preview` mix, `perAgentPreview`); the hold stays for GES's release, except a
 *   timeout with timeoutSetsNotReady, which ends the hold and sets the agent not ready for
 *   `notReadyAfterPreviewSec`. `reserve_agent` never holds an agent of its `excludeAgents`.
 */
import { commandDecoder } from '../voice-contract.ts';
import type { CallContext, CallProgress, DialKey, VoiceCommand, VoiceEventHandler, VoicePort } from '../voice-port.ts';
import type { AgentScreen } from './agent-screen.ts';
import { AgentPool } from './agent-pool.ts';
import { CallLife } from './call-life.ts';
import { CallFlows } from './call-flows.ts';
import { buildQueues, longestIdleFree, type AgentState, type QueueRuntime } from './contact-floor.ts';
import { DialLedger, type ReadonlyDialLedger } from './dial-ledger.ts';
import { DialOutcomeDraw } from './dial-outcome-draw.ts';
import { DispositionDesk } from './disposition-desk.ts';
import { Prng } from './prng.ts';
import type { QueueStatsSnapshot } from './queue-stats.ts';
import type { SimClock } from './sim-clock.ts';
import { SimSession } from './sim-session.ts';
import { resolveSettings, type ContactCenterSimulatorConfig, type InboundCallSpec, type SimulatorSettings } from './simulator-config.ts';
import { restartReport, type CallReport, type LedgerChange, type SimulatorResume } from './simulator-resume.ts';
import { queueSnapshot, type QueueSnapshot, type SimulatorSnapshot } from './simulator-snapshot.ts';

export type { AgentState } from './contact-floor.ts';
export type { ContactCenterSimulatorConfig, InboundCallSpec, MeanSd, SimQueueConfig } from './simulator-config.ts';
export type { DispositionChoice, SimDispositionConfig } from './disposition-desk.ts';
export type { QueueSnapshot, SimulatorSnapshot } from './simulator-snapshot.ts';

/** How long the simulated platform plays a machine message (leave_message) before it hangs up. */
const MACHINE_MESSAGE_MS = 10_000;

export class ContactCenterSimulator implements VoicePort {
  readonly clock: SimClock;
  readonly #s: SimulatorSettings;
  readonly #pool: AgentPool;
  readonly #session: SimSession;
  readonly #life: CallLife;
  readonly #onChange: ((change: LedgerChange) => void) | undefined;
  readonly #inbound: readonly InboundCallSpec[];
  readonly #inboundDelivered = new Set<number>();
  /** Call ids announced by `inbound_call`, which `route_inbound` may name. */
  readonly #inboundAnnounced = new Set<string>();
  /** Dial keys of `route_inbound` commands taken: a repeat is ignored, across restarts too. */
  readonly #inboundRouted = new Set<DialKey>();
  /** Keys of cancelled attempts: spent, whatever comes for them later. */
  readonly #cancelled = new Set<DialKey>();
  /** What the next start reports for calls a stop (or an earlier run) cut off. */
  #restartReports: CallReport[] = [];
  readonly #ledger = new DialLedger();
  /** The latest context each key's commands brought (dial, reserve_agent, connect). */
  readonly #contexts = new Map<DialKey, CallContext>();
  readonly #desk: DispositionDesk;
  readonly #flows: CallFlows;
  /** The number dialed for each key (what perNumberConfirm is asked about). */
  readonly #phones = new Map<DialKey, string>();

  constructor(config: ContactCenterSimulatorConfig) {
    this.clock = config.clock;
    this.#s = resolveSettings(config);
    const prng = new Prng(config.seed);
    const draw = new DialOutcomeDraw({
      prng,
      customers: this.#s.customers,
      perNumber: config.perNumber,
      timeToAnswer: this.#s.timeToAnswer,
      ringTimeoutMs: this.#s.ringTimeoutMs,
    });
    this.#inbound = [...(config.inboundCalls ?? [])];
    this.#onChange = config.onLedgerChange;
    this.#session = new SimSession(this.clock, () => this.#logOut());
    const session = this.#session;
    this.#pool = new AgentPool(
      buildQueues(config.queues, this.clock.now()),
      {
        now: () => this.clock.now(),
        emit: (event) => session.emit(event),
        after: (delayMs, fn) => session.after(delayMs, fn),
        lineWaiting: (queue) => session.after(0, () => this.#serveInboundLine(queue)),
      },
      this.#s.holdExpiryMs,
    );
    this.#life = new CallLife({
      pool: this.#pool,
      session,
      draw,
      prng,
      ledger: this.#ledger,
      patienceMs: this.#s.patienceMs,
      messageMs: MACHINE_MESSAGE_MS,
      now: () => this.clock.now(),
      contextOf: (dialKey) => this.#contexts.get(dialKey),
      note: (change) => this.#onChange?.(change),
    });
    this.#desk = new DispositionDesk({ session, seed: config.seed, config: config.dispositions, now: () => this.clock.now() });
    // The desk learns who talked on each key from the simulator's own events.
    session.subscribe((event) => {
      if (event.type === 'connected') this.#desk.connected(event.dialKey, event.agentId);
      if (event.type === 'disposition') this.#ledger.recordDisposition(event.dialKey, event.code);
    });
    this.#flows = new CallFlows({
      pool: this.#pool,
      life: this.#life,
      session,
      prng,
      ledger: this.#ledger,
      confirmation: this.#s.confirmation,
      preview: this.#s.preview,
      perNumberConfirm: config.perNumberConfirm,
      perAgentPreview: config.perAgentPreview,
      notReadyMs: this.#s.notReadyMs,
      phoneOf: (dialKey) => this.#phones.get(dialKey),
      now: () => this.clock.now(),
    });
    if (config.resume !== undefined) this.#resume(config.resume);
  }

  // ---- VoicePort -------------------------------------------------------------------------------

  send(command: VoiceCommand): Promise<void> {
    const checked = commandDecoder.check(command);
    if (!checked.ok) return Promise.reject(new TypeError(`invalid voice command: ${checked.reason}`));
    if (!this.#session.running) return Promise.reject(new Error(`contact-center simulator is not running (command ${command.type} ${command.dialKey})`));
    if ((command.type === 'dial' || command.type === 'reserve_agent' || command.type === 'connect') && command.context !== undefined)
      this.#contexts.set(command.dialKey, command.context);
    // The ledger is updated when the command is taken, not when it is carried out, so a repeat sent
    // before the first took effect is still recognised.
    if (command.type === 'dial') {
      if (!this.#ledger.receive(command.dialKey)) {
        // Answered in turn with the other commands, so it reflects those sent before it.
        this.#session.after(this.#s.latencyMs, () => this.#replay(command.dialKey));
        return Promise.resolve();
      }
      this.#onChange?.({ kind: 'seen', dialKey: command.dialKey });
    }
    if (command.type === 'route_inbound') {
      if (this.#inboundRouted.has(command.dialKey)) return Promise.resolve();
      this.#inboundRouted.add(command.dialKey);
    }
    this.#session.after(this.#s.latencyMs, () => this.#execute(command));
    return Promise.resolve();
  }

  onEvent(handler: VoiceEventHandler): () => void {
    return this.#session.subscribe(handler);
  }

  availableAgents(tenant: string, queue: string): number {
    if (!this.#session.running) return 0;
    return this.#pool.queues.get(`${tenant}/${queue}`)?.counts.free ?? 0;
  }

  agentsLoggedIn(tenant: string, queue: string): number {
    if (!this.#session.running) return 0;
    return this.#pool.queues.get(`${tenant}/${queue}`)?.agents.length ?? 0;
  }

  /**
   * Logs every agent in (all free, announced ready at the current instant), reports the calls a
   * stop cut off, and schedules the inbound calls not yet delivered. Starting again after stop()
   * begins a new session: the ledger and statistics remain (a dial key stays spent across restarts).
   */
  start(): Promise<void> {
    if (!this.#session.begin()) return Promise.resolve();
    const now = this.clock.now();
    for (const agent of this.#pool.agents.values()) agent.freeSince = now;
    this.#session.after(0, () => {
      for (const queue of this.#pool.queues.values()) {
        for (const agent of queue.agents)
          this.#session.emit({ type: 'agent_ready', tenant: queue.tenant, queue: queue.queue, agentId: agent.id, at: this.clock.now() });
      }
      const reports = this.#restartReports;
      this.#restartReports = [];
      for (const report of reports) {
        this.#life.callEvent({ ...report, at: this.clock.now() });
        this.#onChange?.({ kind: 'over', dialKey: report.dialKey });
      }
    });
    this.#inbound.forEach((call, index) => {
      if (this.#inboundDelivered.has(index)) return;
      this.#session.at(call.atMs, () => {
        this.#inboundDelivered.add(index);
        this.#inboundAnnounced.add(`inbound-${index + 1}`);
        this.#session.emit({
          type: 'inbound_call',
          callId: `inbound-${index + 1}`,
          tenant: call.tenant,
          toNumber: call.toNumber,
          fromNumber: call.fromNumber,
          ...(call.digits === undefined ? {} : { digits: call.digits }),
          at: this.clock.now(),
        });
      });
    });
    return Promise.resolve();
  }

  /** Withdraws everything pending (no event is delivered after stop) and logs the agents out. */
  stop(): Promise<void> {
    this.#session.stop();
    return Promise.resolve();
  }

  /** The session ended: calls cut off are reported at the next start (and a repeat is told the same). */
  #logOut(): void {
    const now = this.clock.now();
    for (const call of this.#life.calls.values()) this.#cutOff(call.dialKey, call.phase === 'connected' ? call.connectedAt : undefined, now);
    this.#life.calls.clear();
    this.#pool.logOut();
  }

  /** An earlier run's ledger: its keys stay spent, its calls in flight are reported at start. */
  #resume(resume: SimulatorResume): void {
    for (const key of resume.seen) this.#ledger.receive(key);
    for (const key of resume.placed) this.#ledger.markDialed(key);
    for (const key of resume.cancelled) this.#cancelled.add(key);
    for (const [key, event] of resume.latest) this.#life.latest.set(key, event);
    const now = this.clock.now();
    for (const [key, call] of resume.inFlight) this.#cutOff(key, call.connectedAt, now);
  }

  #cutOff(dialKey: DialKey, connectedAt: number | undefined, now: number): void {
    const report = restartReport(dialKey, connectedAt, now);
    this.#life.latest.set(dialKey, report);
    this.#restartReports.push(report);
  }

  // ---- Inspection ------------------------------------------------------------------------------

  get running(): boolean {
    return this.#session.running;
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

  /** Agents held for an attempt now: after every attempt has ended and been released, 0. */
  agentsHeld(): number {
    return this.#pool.held;
  }

  /** Holds freed by the safety-net expiry, each a release_agent GES did not send. */
  holdsExpired(): number {
    return this.#pool.holdsExpired;
  }

  /** The context the key's commands brought (the latest one), or undefined when none came with one. */
  contextOf(dialKey: DialKey): CallContext | undefined {
    return this.#contexts.get(dialKey);
  }

  /** What the agent of the key's call saw of the callback when it was put through (undefined until then). */
  agentScreen(dialKey: DialKey): AgentScreen | undefined {
    return this.#ledger.screenOf(dialKey);
  }

  /** State of one agent, or undefined for an unknown id. */
  agentState(agentId: string): AgentState | undefined {
    return this.#pool.agents.get(agentId)?.state;
  }

  /** Agent ids of a queue, in order (empty for an unknown queue). */
  agentIds(tenant: string, queue: string): string[] {
    return this.#pool.queues.get(`${tenant}/${queue}`)?.agents.map((a) => a.id) ?? [];
  }

  queueStats(tenant: string, queue: string): QueueStatsSnapshot | undefined {
    return this.#pool.queues.get(`${tenant}/${queue}`)?.stats.snapshot();
  }

  snapshot(): SimulatorSnapshot {
    const queues: Record<string, QueueSnapshot> = {};
    for (const q of this.#pool.queues.values()) queues[q.key] = queueSnapshot(q, this.#session.running);
    return {
      at: this.clock.now(),
      running: this.#session.running,
      queues,
      activeCalls: this.#life.calls.size,
      dialsPlaced: this.#ledger.dialsPlaced,
      duplicateDials: this.#ledger.duplicates,
      agentsHeld: this.#pool.held,
      holdsExpired: this.#pool.holdsExpired,
    };
  }

  // ---- Commands --------------------------------------------------------------------------------

  #execute(command: VoiceCommand): void {
    switch (command.type) {
      case 'dial':
        this.#desk.dialed(command.dialKey, command.phone);
        return this.#dial(command.dialKey, command.tenant, command.queue, command.phone, command.agentId, command.progress);
      case 'reserve_agent':
        return this.#reserve(command.dialKey, command.tenant, command.queue, command.excludeAgents);
      case 'connect':
        return this.#connect(command.dialKey, command.agentId);
      case 'release_agent':
        return this.#pool.release(command.dialKey, command.agentId);
      case 'cancel':
        return this.#cancel(command.dialKey);
      case 'route_inbound':
        return this.#routeInbound(command.dialKey, command.callId, command.tenant, command.queue);
      case 'leave_message':
        return this.#life.leaveMessage(command.dialKey);
      case 'disposition_request':
        return this.#desk.request(command.dialKey, command.timeoutSec);
      case 'confirm_customer':
        return this.#flows.confirm(command.dialKey, command.timeoutSec);
      case 'preview':
        if (this.#cancelled.has(command.dialKey))
          return this.#session.emit(this.#life.latest.get(command.dialKey) ?? { type: 'failed', dialKey: command.dialKey, at: this.clock.now() });
        return this.#flows.preview(command.dialKey, command.agentId, command.timeoutSec, command.allowReject, command.timeoutSetsNotReady);
    }
  }

  #dial(dialKey: DialKey, tenant: string, queueName: string, phone: string, agentId: string | undefined, progress: CallProgress | undefined): void {
    const at = this.clock.now();
    // Spent by a cancel that came first: the customer is not called for an abandoned attempt.
    if (this.#cancelled.has(dialKey)) return this.#session.emit(this.#life.latest.get(dialKey) ?? { type: 'failed', dialKey, at });
    if (at < this.#s.refuseDialsUntilMs) return this.#life.callEvent({ type: 'failed', dialKey, at, reason: 'ledger_lost' });
    const queue = this.#pool.queues.get(`${tenant}/${queueName}`);
    if (queue === undefined) return this.#life.callEvent({ type: 'failed', dialKey, at });
    if (agentId !== undefined) {
      const agent = this.#pool.agents.get(agentId);
      const heldHere = agent !== undefined && agent.state === 'reserved' && agent.dialKey === dialKey;
      if (agent === undefined || (!heldHere && agent.state !== 'free')) {
        queue.stats.recordOutcome('failed');
        return this.#life.callEvent({ type: 'failed', dialKey, at });
      }
      if (!heldHere) {
        this.#pool.hold(agent, dialKey, true);
        this.#ledger.recordHold(dialKey, agent.id);
      }
    }
    this.#phones.set(dialKey, phone);
    this.#life.place(dialKey, queue, phone, progress);
  }

  /** A repeated dial: the call's latest event again, or nothing while it rings (or was never placed). */
  #replay(dialKey: DialKey): void {
    const latest = this.#life.latest.get(dialKey);
    if (latest === undefined) return;
    this.#ledger.recordReplay();
    this.#session.emit(latest);
  }

  /** The rule of docs/VOICE-CONTRACT.md for every reserve_agent, first or repeated: where the attempt stands decides. */
  #reserve(dialKey: DialKey, tenant: string, queueName: string, excludeAgents: readonly string[] | undefined): void {
    const at = this.clock.now();
    const movedOn = this.#life.movedOn(dialKey);
    if (movedOn !== undefined) return this.#session.emit(movedOn);
    const exclude = excludeAgents === undefined || excludeAgents.length === 0 ? undefined : new Set(excludeAgents);
    // An agent who rejected the callback is not kept for it, even if its release has not come yet.
    if (exclude?.has(this.#pool.heldFor(dialKey)?.id ?? '')) this.#pool.free(dialKey);
    const held = this.#pool.heldFor(dialKey);
    if (held !== undefined) return this.#session.emit({ type: 'agent_reserved', dialKey, agentId: held.id, at });
    // An attempt already over without an event would hold the agent for nothing: it stays free.
    if (this.#ledger.get(dialKey)?.dialed === true && !this.#life.calls.has(dialKey)) return this.#session.emit({ type: 'no_agent', dialKey, at });
    const queue = this.#pool.queues.get(`${tenant}/${queueName}`);
    const best = queue === undefined ? undefined : longestIdleFree(queue, exclude);
    if (best === undefined) return this.#session.emit({ type: 'no_agent', dialKey, at });
    this.#pool.hold(best, dialKey, this.#life.calls.has(dialKey));
    this.#ledger.recordHold(dialKey, best.id);
    this.#session.emit({ type: 'agent_reserved', dialKey, agentId: best.id, at });
  }

  #connect(dialKey: DialKey, requestedAgentId: string | undefined): void {
    const call = this.#life.calls.get(dialKey);
    // Already bridged, or over: a retried or late connect is told where the call is. The agent
    // held for the attempt stays held: GES releases it (release_agent) when it learns the end.
    if (call === undefined || !CallLife.waiting(call))
      return this.#session.emit(this.#life.movedOn(dialKey) ?? { type: 'failed', dialKey, at: this.clock.now() });
    // Without an agent id, the agent held for this attempt (agent first) is meant.
    const agent = this.#pool.agents.get(requestedAgentId ?? this.#pool.heldFor(dialKey)?.id ?? '');
    const heldHere = agent !== undefined && agent.state === 'reserved' && agent.dialKey === dialKey;
    if (agent === undefined || (!heldHere && agent.state !== 'free')) return this.#session.emit({ type: 'no_agent', dialKey, at: this.clock.now() });
    this.#life.bridge(call, agent);
  }

  #routeInbound(dialKey: DialKey, callId: string, tenant: string, queueName: string | undefined): void {
    const queue = queueName === undefined ? undefined : this.#pool.queues.get(`${tenant}/${queueName}`);
    if (!this.#inboundAnnounced.has(callId) || (queueName !== undefined && queue === undefined)) {
      return this.#session.emit({ type: 'failed', dialKey, at: this.clock.now() });
    }
    // No queue: the default treatment (an announcement, a hang-up) is not modelled; the call ends.
    if (queue === undefined) return this.#session.emit({ type: 'call_ended', dialKey, at: this.clock.now(), talkSeconds: 0 });
    const call = this.#life.waitInLine(dialKey, queue);
    const agent = longestIdleFree(queue);
    if (agent !== undefined) return this.#life.bridge(call, agent);
    this.#life.queueUp(call);
  }

  /** Gives free agents of the queue to the callers waiting in its inbound line, in order. */
  #serveInboundLine(queue: QueueRuntime): void {
    for (;;) {
      const call = queue.inboundLine[0];
      const agent = longestIdleFree(queue);
      if (call === undefined || agent === undefined) return;
      this.#life.bridge(call, agent);
    }
  }

  /** No event: GES has finished the attempt. The key is spent, its call and its held agent let go. */
  #cancel(dialKey: DialKey): void {
    if (!this.#cancelled.has(dialKey)) {
      this.#cancelled.add(dialKey);
      this.#onChange?.({ kind: 'cancelled', dialKey });
      // What a late command for the key is told (the customer is not waiting any more).
      this.#life.latest.set(dialKey, { type: 'failed', dialKey, at: this.clock.now() });
    }
    this.#life.drop(dialKey);
    this.#pool.free(dialKey);
  }
}
