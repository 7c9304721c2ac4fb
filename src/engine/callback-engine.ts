import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Queryable } from '../store/db.ts';
import * as store from '../store/engine-transition-store.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import { isCallbackId } from '../domain/callback-id.ts';
import type { HotState, Wakeups } from '../hot/hot-state.ts';
import { OwnDueEntries } from './own-due-entries.ts';
import type { VoiceCommand, VoiceEvent, VoicePort } from '../voice/voice-port.ts';
import { dialKeyOf } from '../voice/voice-port.ts';
import type { EngineClock } from './engine-clock.ts';
import { ServiceDirectory, type EngineService } from './service-directory.ts';
import { queueScore } from '../domain/engine/queue-order.ts';
import { decideRetry, type FailedDialOutcome } from '../domain/engine/dial-retry-policy.ts';
import { stateOfPhase, type AttemptPhase } from '../domain/engine/attempt-phase.ts';
import type { CompletionReason } from '../domain/callback-state.ts';
import { rebuildHotState } from './hot-state-rebuild.ts';
import { findTenantById } from '../store/tenant-store.ts';
import type { CallbackRecord } from '../domain/callback-record.ts';
import type { CallbackLifecycle } from '../app/callback-service.ts';
import { WaitView } from './wait-view.ts';
import type { WaitMode } from '../domain/wait/wait-estimator.ts';
import type { WaitEstimate } from '../domain/wait/wait-estimate.ts';
import type { QueueObservation } from '../domain/wait/queue-observation.ts';

/** How long each phase may last without news before the watchdog looks at the attempt (seconds). */
export const WATCHDOG_SEC: Readonly<Record<Exclude<AttemptPhase, 'WAITING' | 'RETRY_WAIT'>, number>> = Object.freeze({
  RESERVING: 120,
  DIALING: 180,
  AWAITING_AGENT: 180,
  CONNECTING: 120,
  TALKING: 4 * 3600,
});

/** Phases in which the attempt's call is placed: a call_ended with talk time completes it from any of them. */
const CALL_PHASES: readonly AttemptPhase[] = ['DIALING', 'AWAITING_AGENT', 'CONNECTING', 'TALKING'];

/** A stalled attempt is re-sent its command this many times, then given up as a platform failure. */
const MAX_STALLS = 3;
/** A customer on the line with no agent yet is re-offered to the platform this often. */
const AGENT_RETRY_MS = 3000;
/** How soon a scheduled callback claimed a hair before Postgres saw it due is looked at again (ms). */
const RECHECK_MS = 25;
/** How old a queue observation a wait prediction may use. */
const PREDICTION_OBSERVATION_MS = 10_000;

export interface EngineObserver {
  transition?(e: { tenant: string; service: string; to: string; reason?: CompletionReason }): void;
  dialOutcome?(e: { tenant: string; service: string; outcome: string }): void;
  dispatchLateness?(e: { tenant: string; seconds: number }): void;
  /** A callback reached an agent at its first attempt: the wait predicted as it joined the queue against the real one. */
  waitMeasured?(e: { tenant: string; service: string; predictedSec: number; actualSec: number }): void;
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

/**
 * The callback engine of one node. It owns nothing: every decision is a fenced statement on the
 * callback row, and every index it reads can be rebuilt, so any number of nodes run it side by
 * side and any of them can handle any event or due entry.
 *
 * Work arrives three ways: due entries (scheduled callbacks becoming QUEUED, ends of retry pauses,
 * watchdogs), the queues (dispatched when agents are free), and platform events (each moves one
 * attempt one step). docs/ENGINE.md describes the design.
 */
export class CallbackEngine implements CallbackLifecycle {
  readonly #o: Required<Omit<EngineOptions, 'observer'>> & { observer: EngineObserver };
  readonly #services: ServiceDirectory;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #dispatching = new Map<string, boolean>();
  /** Services this node has seen waiting callbacks in: swept for dispatch each poll. */
  readonly #activeServices = new Map<number, number>(); // serviceId → tenantId
  readonly #stalls = new Map<string, number>();
  /** The hot state, remembering the due entries only this node times (its watchdogs and leases). */
  readonly #own: OwnDueEntries;
  /** This node's name in the wake-up index's liveness entries. */
  readonly #node = randomBytes(6).toString('hex');
  #renewLivenessAt = -Infinity;
  #unsubscribe: (() => void) | undefined;
  #cancelTick: (() => void) | undefined;
  #nextTickAt = Infinity;
  #lastSweepAt = 0;
  #running = false;
  #rebuilding: Promise<void> | undefined;

  constructor(options: EngineOptions) {
    this.#o = {
      pollMs: 2000, leaseMs: 30_000, batch: 200, sweepMs: 30_000, watchdogCapSec: 0,
      ...options,
      // An explicit `observer: undefined` must not erase the empty default.
      observer: options.observer ?? {},
    } as Required<Omit<EngineOptions, 'observer'>> & { observer: EngineObserver };
    this.#own = new OwnDueEntries(options.hot);
    this.#o.hot = this.#own;
    this.#services = new ServiceDirectory(options.db);
    this.#waits = new WaitView(options.hot, options.voice, () => options.clock.nowMs());
  }

  readonly #waits: WaitView;

  get services(): ServiceDirectory {
    return this.#services;
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#unsubscribe = this.#o.voice.onEvent((event) => this.#track(this.#onEvent(event)));
    const w = await this.#o.hot.wakeups(1);
    if (!w.intact) await this.rebuild();
    await this.#liveness(this.#o.clock.nowMs(), []);
    this.#scheduleTick(this.#o.clock.nowMs());
  }

  /**
   * Stops taking work (no more claims of due entries, no more dispatch) and waits for what is in
   * hand, which settles every lease this node took; platform events are still handled, so a node
   * shutting down can stop its voice port's reads before stop() without losing an event.
   */
  async quiesce(): Promise<void> {
    this.#running = false;
    this.#cancelTick?.();
    await this.idle();
  }

  /** Stops taking work and platform events, and waits for what is in hand (see quiesce). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#cancelTick?.();
    this.#unsubscribe?.();
    await this.idle();
    await this.#retire();
  }

  /**
   * Leaves the wake-up index's liveness entries: first the watchdogs only this node timed are
   * announced (each such tenant's wake-up set to its earliest due entry), then its own entry goes,
   * so no other node rebuilds on its account.
   */
  async #retire(): Promise<void> {
    try {
      for (const tenantId of this.#own.tenants()) await this.#o.hot.settleWakeup(tenantId);
      await this.#o.hot.retire(this.#node);
    } catch (err) {
      this.#o.logger.warn({ err }, 'could not hand over this node\'s watchdogs; its liveness entry will lapse and another node will rebuild');
    }
  }

  /** Resolves when no work started by this engine is still running (tests and simulations step on it). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** Rebuilds the hot state from Postgres (also `ges recover`); concurrent calls share one run. */
  rebuild(): Promise<void> {
    this.#rebuilding ??= (async () => {
      try {
        const counts = await rebuildHotState(this.#o.db, this.#o.hot, (row) => this.#scoreOf(row));
        for (const [serviceId, tenantId] of counts.services) this.#activeServices.set(serviceId, tenantId);
        // The queues may have been refilled after the agents' last agent_ready: offer them now, not at the next sweep.
        for (const [serviceId, tenantId] of counts.services) void this.#track(this.#dispatch(tenantId, serviceId));
        this.#o.logger.info({ ...counts, services: counts.services.size }, 'hot state rebuilt from the database');
      } finally {
        this.#rebuilding = undefined;
      }
    })();
    return this.#rebuilding;
  }

  // ---- hooks from the API side ------------------------------------------------------------------

  /** A callback was created: immediate ones join the queue at once, scheduled ones wait for their due time. */
  created(c: { id: string; tenantId: number; serviceId: number; scheduled: boolean; createdAt: Date; desiredAt: Date; dueAt: Date | null; priority: number; priorityStepSec: number }): Promise<void> {
    return this.#track((async () => {
      if (c.scheduled && c.dueAt) {
        await this.#o.hot.setDue(c.tenantId, [{ id: c.id, atMs: c.dueAt.getTime() }]);
        this.#scheduleTick(c.dueAt.getTime());
        return;
      }
      const score = queueScore({ scheduled: false, createdAtMs: c.createdAt.getTime(), desiredAtMs: c.desiredAt.getTime(), priority: c.priority }, c.priorityStepSec);
      await this.#o.hot.enqueue(c.tenantId, c.serviceId, [{ id: c.id, score }]);
      this.#activeServices.set(c.serviceId, c.tenantId);
      await this.#predict(c.tenantId, c.serviceId, [c.id]);
      await this.#dispatch(c.tenantId, c.serviceId);
    })());
  }

  /** A scheduled callback moved: its due entry follows. */
  rescheduled(c: { id: string; tenantId: number; dueAt: Date }): Promise<void> {
    return this.#track((async () => {
      await this.#o.hot.setDue(c.tenantId, [{ id: c.id, atMs: c.dueAt.getTime() }]);
      this.#scheduleTick(c.dueAt.getTime());
    })());
  }

  /** A callback was cancelled: out of every index, and the platform told to stop any call of its attempt. */
  cancelled(c: { id: string; tenantId: number; serviceId: number; attempt: number }): Promise<void> {
    return this.#track((async () => {
      if (c.attempt > 0) await this.#send({ type: 'cancel', dialKey: dialKeyOf(c.id, c.attempt) });
      await this.#o.hot.finish(c.tenantId, c.serviceId, c.id);
    })());
  }

  /** Live place and wait of an active callback (retrieve's positionInQueue and estimatedWaitTime). */
  async live(tenantId: number, record: CallbackRecord): Promise<{ positionInQueue: number; estimatedWaitTime: number } | undefined> {
    const service = await this.#services.byId(record.serviceId);
    if (!service) return undefined;
    if (record.phase !== 'WAITING' && record.phase !== 'RETRY_WAIT') return { positionInQueue: 0, estimatedWaitTime: 0 }; // being served now
    const tenantName = await this.#tenantName(tenantId, service);
    const obs = await this.#waits.observe(tenantId, tenantName, service.id, service.name, service.options.firstConnectParty === 'AGENT');
    const position = record.phase === 'WAITING' ? await this.#o.hot.position(tenantId, service.id, record.id) : undefined;
    const place = position ?? obs.waiting + 1;
    const wait = this.#waits.callback(obs, place);
    return { positionInQueue: place, estimatedWaitTime: wait.seconds === undefined ? -1 : Math.round(wait.seconds) };
  }

  /** The queue's estimated wait for a callback booked now (estimated-wait-time, queue-status, statistics). */
  async queueWait(tenantId: number, tenantName: string, serviceId: number, mode: WaitMode): Promise<{ estimate: WaitEstimate; obs: QueueObservation } | undefined> {
    const service = await this.#services.byId(serviceId);
    if (!service) return undefined;
    const obs = await this.#waits.observe(tenantId, tenantName, service.id, service.name, service.options.firstConnectParty === 'AGENT');
    return { estimate: this.#waits.queue(obs, mode), obs };
  }

  /**
   * Records the wait predicted for callbacks that just joined a queue (mode3, from an observation up
   * to PREDICTION_OBSERVATION_MS old, so a burst of callbacks costs one read of the hot state), to be
   * compared with their real wait when an agent takes them. A failure costs only the measurement.
   */
  async #predict(tenantId: number, serviceId: number, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      const service = await this.#services.byId(serviceId);
      if (!service) return;
      const tenantName = await this.#tenantName(tenantId, service);
      const obs = await this.#waits.observe(tenantId, tenantName, service.id, service.name, service.options.firstConnectParty === 'AGENT', PREDICTION_OBSERVATION_MS);
      for (const [i, id] of ids.entries()) {
        // The observation may predate these callbacks: each one queues behind those seen waiting and those before it in the batch.
        const wait = this.#waits.callback(obs, obs.waiting + i + 1);
        if (wait.seconds !== undefined) await store.recordPrediction(this.#o.db, id, wait.seconds, this.#o.clock.sqlNow());
      }
    } catch (err) {
      this.#o.logger.warn({ err }, 'recording a wait prediction failed');
    }
  }

  // ---- due work -----------------------------------------------------------------------------------

  #scheduleTick(atMs: number): void {
    if (!this.#running) return;
    const now = this.#o.clock.nowMs();
    const at = Math.min(Math.max(atMs, now), now + this.#o.pollMs);
    if (at >= this.#nextTickAt) return;
    this.#cancelTick?.();
    this.#nextTickAt = at;
    this.#cancelTick = this.#o.clock.at(at, () => {
      this.#nextTickAt = Infinity;
      this.#cancelTick = undefined;
      void this.#track(this.#tick());
    });
  }

  async #tick(): Promise<void> {
    if (!this.#running) return;
    let next = Infinity;
    try {
      const w = await this.#o.hot.wakeups(16);
      if (!w.intact) {
        this.#o.logger.warn('hot state lost (empty or flushed): rebuilding it from the database');
        await this.rebuild();
      }
      const now = this.#o.clock.nowMs();
      await this.#liveness(now, w.nodes);
      await this.#own.moveKnown(now);
      const own = this.#own.dueTenants(now);
      for (const { tenantId, atMs } of w.tenants) {
        if (atMs <= now) {
          // Its next wake-up counts too: a busy tenant's next entry is often due before the next poll.
          next = Math.min(next, (await this.#processDue(tenantId, true)) ?? Infinity);
          own.delete(tenantId);
        } else next = Math.min(next, atMs);
      }
      // Entries only this node times (its watchdogs, its leases): no wake-up to settle.
      for (const tenantId of own) await this.#processDue(tenantId, false);
      if (now - this.#lastSweepAt >= this.#o.sweepMs) {
        this.#lastSweepAt = now;
        await this.#sweep();
      }
    } catch (err) {
      this.#o.logger.error({ err }, 'engine tick failed; retrying at the next poll');
    } finally {
      this.#scheduleTick(Math.min(next, this.#own.earliest() ?? Infinity, this.#renewLivenessAt));
    }
  }

  /**
   * Renews this node's liveness entry (it promises to time its own watchdogs meanwhile), and
   * recovers for a node whose entry lapsed: it died or stalled holding watchdogs nobody else
   * knows of. The one node that removes the entry rebuilds the hot state, which announces them.
   */
  async #liveness(now: number, nodes: Wakeups['nodes']): Promise<void> {
    if (now >= this.#renewLivenessAt) {
      const ttl = this.#livenessMs();
      await this.#o.hot.heartbeat(this.#node, now + ttl);
      this.#renewLivenessAt = now + ttl / 3;
    }
    for (const n of nodes) {
      if (n.node === this.#node || n.atMs > now) continue;
      if (await this.#o.hot.retire(n.node)) {
        this.#o.logger.warn({ node: n.node }, 'a node stopped renewing its liveness entry: rebuilding the hot state to announce its watchdogs');
        await this.rebuild();
      }
    }
  }

  /** How long a liveness entry lasts unrenewed: half the shortest watchdog, at most a minute, so a dead node's watchdogs are announced about when they fall due. */
  #livenessMs(): number {
    const phases = Object.keys(WATCHDOG_SEC) as (keyof typeof WATCHDOG_SEC)[];
    return Math.min(60_000, Math.min(...phases.map((p) => this.#watchdogSec(p))) * 500);
  }

  /** Claims and handles a tenant's due entries; `settle` when its wake-up was due (it is then moved on, and returned). */
  async #processDue(tenantId: number, settle: boolean): Promise<number | undefined> {
    const from = this.#o.clock.nowMs();
    for (;;) {
      if (!this.#running) break; // stopping: the batch in hand is finished, no new one is claimed
      const now = this.#o.clock.nowMs();
      const ids = await this.#o.hot.claimDue(tenantId, now, this.#o.leaseMs, this.#o.batch);
      if (ids.length === 0) break;
      const queued = await store.queueDueScheduled(this.#o.db, ids, this.#o.clock.sqlNow());
      await this.#joinQueues(queued);
      for (const row of queued) {
        this.#o.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'QUEUED' });
        const service = await this.#services.byId(row.serviceId);
        if (service) this.#o.observer.dispatchLateness?.({ tenant: row.tenantName, seconds: Math.max(0, (now - queueEntryMs(row, service)) / 1000) });
      }
      const done = new Set(queued.map((r) => r.id));
      const rest = ids.filter((id) => !done.has(id));
      if (rest.length > 0) {
        const rows = await store.engineRows(this.#o.db, rest);
        const found = new Set(rows.map((r) => r.id));
        const gone = rest.filter((id) => !found.has(id));
        if (gone.length > 0) await this.#o.hot.removeDue(tenantId, gone);
        for (const row of rows) await this.#reconcile(row, now);
      }
      if (ids.length < this.#o.batch) break;
    }
    if (this.#running) this.#own.looked(tenantId, from);
    return settle ? this.#o.hot.settleWakeup(tenantId) : undefined;
  }

  /** Callbacks that just became QUEUED: into their queues (by virtual start time), out of the due index. */
  async #joinQueues(rows: readonly EngineRow[]): Promise<void> {
    const byService = new Map<number, EngineRow[]>();
    for (const r of rows) byService.set(r.serviceId, [...(byService.get(r.serviceId) ?? []), r]);
    for (const [serviceId, list] of byService) {
      const service = await this.#services.byId(serviceId);
      const step = service?.options.priorityStepSec ?? 60;
      const tenantId = list[0]!.tenantId;
      await this.#o.hot.enqueue(tenantId, serviceId, list.map((r) => ({ id: r.id, score: queueScore(scoreInput(r), step) })));
      await this.#o.hot.removeDue(tenantId, list.map((r) => r.id));
      this.#activeServices.set(serviceId, tenantId);
      await this.#predict(tenantId, serviceId, list.filter((r) => r.attempt === 0 && r.ewtAt === null).map((r) => r.id));
      await this.#dispatch(tenantId, serviceId);
    }
  }

  /** A due entry whose callback is not a scheduled one coming due: compare with Postgres and act. */
  async #reconcile(row: EngineRow, now: number): Promise<void> {
    const hot = this.#o.hot;
    if (row.state === 'COMPLETED') {
      await hot.finish(row.tenantId, row.serviceId, row.id);
      return;
    }
    const dueMs = row.dueAt?.getTime();
    if (row.state === 'SCHEDULED' || row.phase === 'RETRY_WAIT') {
      if (dueMs !== undefined && dueMs > now) {
        await hot.setDue(row.tenantId, [{ id: row.id, atMs: dueMs }]);
        return;
      }
      if (row.phase === 'RETRY_WAIT') {
        const back = await store.endRetryPause(this.#o.db, row.id, row.attempt, this.#o.clock.sqlNow());
        if (back) await this.#joinQueues([back]);
        return;
      }
      // A SCHEDULED row due but not moved: Postgres keeps microseconds and a JS Date does not, so an
      // entry claimed in the very millisecond it falls due can be a hair early for Postgres. Look
      // again a moment later rather than when the lease ends (30 s).
      await hot.setDue(row.tenantId, [{ id: row.id, atMs: Math.max(now, dueMs ?? now) + RECHECK_MS }]);
      return;
    }
    if (row.phase === 'WAITING') {
      // Waiting in its queue as far as Postgres knows (e.g. a node died between steps): make sure it is queued.
      await this.#joinQueues([row]);
      return;
    }
    // An attempt in flight: its watchdog is re-armed unannounced (this node times it).
    if (dueMs !== undefined && dueMs > now) {
      await hot.moveDue(row.tenantId, [{ id: row.id, atMs: dueMs }]);
      return;
    }
    await this.#stalled(row);
  }

  /**
   * The watchdog of an attempt fired: no event moved it in time. The command of its phase is sent
   * again with the same dial key (the platform never dials a key twice, and answers the repeat with
   * the call's latest event, so an event lost on the way is heard again); after MAX_STALLS the
   * attempt counts as a platform failure.
   */
  async #stalled(row: EngineRow): Promise<void> {
    const key = dialKeyOf(row.id, row.attempt);
    if (row.phase === 'TALKING') {
      // Customer and agent were connected, which is what the callback was for: an attempt whose end
      // is never reported (call_ended lost with the Redis that carried it) completes, instead of
      // staying PROCESSING; retrying it would call back a customer who was served.
      const done = await store.completeAttempt(this.#o.db, row.id, row.attempt, ['TALKING'], 'AGENT_CONNECTED', 'call end not reported', this.#o.clock.sqlNow());
      if (done) {
        await this.#o.hot.finish(row.tenantId, row.serviceId, row.id);
        this.#o.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'COMPLETED', reason: 'AGENT_CONNECTED' });
      }
      return;
    }
    const stalls = (this.#stalls.get(key) ?? 0) + 1;
    this.#stalls.set(key, stalls);
    this.#o.logger.warn({ callbackId: row.id, attempt: row.attempt, phase: row.phase, stalls }, 'attempt stalled');
    if (stalls > MAX_STALLS) {
      this.#stalls.delete(key);
      await this.#send({ type: 'cancel', dialKey: key });
      await this.#failAttempt(row, 'failed', [row.phase]);
      return;
    }
    const service = await this.#services.byId(row.serviceId);
    if (!service) return;
    const phase = row.phase as keyof typeof WATCHDOG_SEC;
    const extended = await store.extendWatchdog(this.#o.db, row.id, row.attempt, row.phase, this.#watchdogSec(phase), this.#o.clock.sqlNow());
    if (!extended) return;
    await this.#o.hot.moveDue(row.tenantId, [{ id: row.id, atMs: extended.dueAt!.getTime() }]);
    if (row.phase === 'DIALING') await this.#send({ type: 'dial', dialKey: key, tenant: row.tenantName, queue: row.serviceName, phone: row.phone });
    else if (row.phase === 'RESERVING' || row.phase === 'AWAITING_AGENT') await this.#send({ type: 'reserve_agent', dialKey: key, tenant: row.tenantName, queue: row.serviceName });
    // Without agentId the platform bridges the agent it holds for the key; a call already bridged is left as it is.
    else if (row.phase === 'CONNECTING') await this.#send({ type: 'connect', dialKey: key });
  }

  /** A phase's watchdog (seconds), capped by the watchdogCapSec option. */
  #watchdogSec(phase: keyof typeof WATCHDOG_SEC): number {
    const cap = this.#o.watchdogCapSec;
    return cap > 0 ? Math.min(WATCHDOG_SEC[phase], cap) : WATCHDOG_SEC[phase];
  }

  /** Waiting callbacks past their time to live complete FAIL_TIMEOUT_TTL; then queues with work are offered to free agents. */
  async #sweep(): Promise<void> {
    for (;;) {
      const expired = await store.expireOverdue(this.#o.db, this.#o.clock.sqlNow());
      for (const row of expired) {
        await this.#o.hot.finish(row.tenantId, row.serviceId, row.id);
        this.#o.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'COMPLETED', reason: 'FAIL_TIMEOUT_TTL' });
      }
      if (expired.length < 1000) break;
    }
    for (const [serviceId, tenantId] of this.#activeServices) await this.#dispatch(tenantId, serviceId);
  }

  // ---- dispatch -----------------------------------------------------------------------------------

  /** Offers a service's queue to its free agents; one loop per service per node at a time. */
  async #dispatch(tenantId: number, serviceId: number): Promise<void> {
    const key = `${tenantId}:${serviceId}`;
    if (this.#dispatching.has(key)) {
      this.#dispatching.set(key, true); // run again when the current loop ends
      return;
    }
    this.#dispatching.set(key, false);
    try {
      do {
        this.#dispatching.set(key, false);
        await this.#dispatchLoop(tenantId, serviceId);
      } while (this.#dispatching.get(key) === true);
    } finally {
      this.#dispatching.delete(key);
    }
  }

  async #dispatchLoop(tenantId: number, serviceId: number): Promise<void> {
    const service = await this.#services.byId(serviceId);
    if (!service) return;
    const tenantName = await this.#tenantName(tenantId, service);
    for (;;) {
      // Pacing: no more customers waiting for an agent than there are free agents (customer first:
      // dial as soon as an agent could take the call; agent first: one reservation per free agent).
      const free = this.#o.voice.availableAgents(tenantName, service.name);
      if (free <= 0 || !this.#running) return;
      const first = service.options.firstConnectParty;
      const watchdog = this.#watchdogSec(first === 'AGENT' ? 'RESERVING' : 'DIALING');
      const now = this.#o.clock.nowMs();
      // One take fills every place pacing allows, so a dispatch costs one script whatever it finds.
      const taken = await this.#o.hot.take(tenantId, serviceId, free, now + watchdog * 1000);
      if (taken.drained) this.#activeServices.delete(serviceId); // empty: nothing to sweep here until something joins
      let refused = false;
      for (const id of taken.ids) {
        const row = await store.startAttempt(this.#o.db, id, first, watchdog, service.options.ttlSec, this.#o.clock.sqlNow());
        if (!row) {
          await this.#notStarted(id, tenantId, serviceId);
          refused = true;
          continue;
        }
        const dialKey = dialKeyOf(row.id, row.attempt);
        if (first === 'AGENT') await this.#send({ type: 'reserve_agent', dialKey, tenant: row.tenantName, queue: row.serviceName });
        else await this.#send({ type: 'dial', dialKey, tenant: row.tenantName, queue: row.serviceName, phone: row.phone });
      }
      // A callback that could not start gave its pacing place back: take again while the queue has more.
      if (!refused || taken.drained) return;
    }
  }

  #tenantNames = new Map<number, string>();
  async #tenantName(tenantId: number, service: EngineService): Promise<string> {
    const hit = this.#tenantNames.get(tenantId);
    if (hit) return hit;
    const name = (await findTenantById(this.#o.db, tenantId))?.name ?? String(service.tenantId);
    this.#tenantNames.set(tenantId, name);
    return name;
  }

  /** A queued entry that could not start: cancelled meanwhile, already started elsewhere, or expired. */
  async #notStarted(id: string, tenantId: number, serviceId: number): Promise<void> {
    const [row] = await store.engineRows(this.#o.db, [id]);
    if (!row || row.state === 'COMPLETED') {
      await this.#o.hot.finish(tenantId, serviceId, id);
      return;
    }
    if (row.phase === 'WAITING' && row.state === 'QUEUED') {
      const done = await store.completeAttempt(this.#o.db, id, null, ['WAITING'], 'FAIL_TIMEOUT_TTL', 'ttl', this.#o.clock.sqlNow());
      if (done) {
        await this.#o.hot.finish(tenantId, serviceId, id);
        this.#o.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'COMPLETED', reason: 'FAIL_TIMEOUT_TTL' });
        return;
      }
    }
    // In flight on another node: its watchdog entry stays; it no longer waits for an agent here.
    await this.#o.hot.agentFound(tenantId, serviceId, id);
  }

  // ---- platform events ----------------------------------------------------------------------------

  async #onEvent(event: VoiceEvent): Promise<void> {
    try {
      if (event.type === 'agent_ready') {
        const service = await this.#services.byNames(event.tenant, event.queue);
        if (service) {
          this.#tenantNames.set(service.tenantId, event.tenant);
          // Every node hears every agent_ready: a queue this node has seen empty costs one look, not a take.
          if (this.#activeServices.has(service.id) || await this.#o.hot.hasWaiting(service.tenantId, service.id)) await this.#dispatch(service.tenantId, service.id);
        }
        return;
      }
      if (!('dialKey' in event)) return; // presence and inbound calls: not an attempt's event
      const parsed = parseDialKey(event.dialKey);
      if (!parsed) return; // not an outbound attempt of ours (inbound calls are keyed in:<callId>)
      const [row] = await store.engineRows(this.#o.db, [parsed.id]);
      if (!row || row.attempt !== parsed.attempt || row.state === 'COMPLETED') return; // stale: fenced out
      const service = await this.#services.byId(row.serviceId);
      if (!service) return;
      this.#stalls.delete(event.dialKey);
      await this.#apply(row, service, event);
    } catch (err) {
      this.#o.logger.error({ err, event: event.type }, 'voice event handling failed');
      throw err;
    }
  }

  async #apply(row: EngineRow, service: EngineService, event: VoiceEvent): Promise<void> {
    const first = service.options.firstConnectParty;
    const key = dialKeyOf(row.id, row.attempt);
    const base = { id: row.id, attempt: row.attempt };
    switch (event.type) {
      case 'agent_reserved': {
        if (row.phase === 'RESERVING') {
          const next = await this.#advance(row, { ...base, from: ['RESERVING'], to: 'DIALING', kind: 'DIAL', detail: 'dial' }, first);
          if (!next) return;
          await this.#o.hot.agentFound(row.tenantId, row.serviceId, row.id);
          await this.#send({ type: 'dial', dialKey: key, tenant: row.tenantName, queue: row.serviceName, phone: row.phone, agentId: event.agentId });
        } else if (row.phase === 'AWAITING_AGENT') {
          const next = await this.#advance(row, { ...base, from: ['AWAITING_AGENT'], to: 'CONNECTING', kind: 'STATE', detail: 'agent reserved' }, first);
          if (!next) return;
          await this.#o.hot.agentFound(row.tenantId, row.serviceId, row.id);
          await this.#send({ type: 'connect', dialKey: key, agentId: event.agentId });
        }
        return;
      }
      case 'no_agent': {
        if (row.phase === 'RESERVING') {
          const back = await store.returnToQueue(this.#o.db, row.id, row.attempt, ['RESERVING'], 'no agent', this.#o.clock.sqlNow());
          if (back) {
            await this.#o.hot.requeue(row.tenantId, row.serviceId, row.id, queueScore(scoreInput(row), service.options.priorityStepSec));
            this.#activeServices.set(row.serviceId, row.tenantId);
          }
        } else if (row.phase === 'AWAITING_AGENT') {
          // The customer is on the line: ask again shortly (their patience is the platform's to judge).
          this.#o.clock.at(this.#o.clock.nowMs() + AGENT_RETRY_MS, () => {
            void this.#track(this.#send({ type: 'reserve_agent', dialKey: key, tenant: row.tenantName, queue: row.serviceName }));
          });
        } else if (row.phase === 'CONNECTING') {
          await this.#failAttempt(row, 'abandoned', ['CONNECTING']);
        }
        return;
      }
      case 'answered': {
        if (row.phase !== 'DIALING') return;
        this.#o.observer.dialOutcome?.({ tenant: row.tenantName, service: row.serviceName, outcome: 'answered' });
        if (first === 'AGENT') {
          const next = await this.#advance(row, { ...base, from: ['DIALING'], to: 'CONNECTING', kind: 'DIAL', detail: 'answered' }, first);
          if (next) await this.#send({ type: 'connect', dialKey: key });
        } else {
          const next = await this.#advance(row, { ...base, from: ['DIALING'], to: 'AWAITING_AGENT', kind: 'DIAL', detail: 'answered' }, first);
          if (next) await this.#send({ type: 'reserve_agent', dialKey: key, tenant: row.tenantName, queue: row.serviceName });
        }
        return;
      }
      case 'connected': {
        if (row.phase !== 'CONNECTING' && row.phase !== 'AWAITING_AGENT') return;
        const next = await this.#advance(row, { ...base, from: ['CONNECTING', 'AWAITING_AGENT'], to: 'TALKING', kind: 'STATE', detail: store.AGENT_CONNECTED_DETAIL }, first);
        if (!next) return;
        if (row.attempt === 1 && row.ewtAt) {
          // Retries are left out: their wait includes pauses the customer caused, which no estimator predicts.
          const queuedAt = queueEntryMs(row, service);
          this.#o.observer.waitMeasured?.({
            tenant: row.tenantName, service: row.serviceName,
            predictedSec: Math.max(0, (row.ewtAt.getTime() - queuedAt) / 1000), actualSec: Math.max(0, (this.#o.clock.nowMs() - queuedAt) / 1000),
          });
        }
        // From CONNECTING the agent was found at agent_reserved already.
        if (row.phase === 'AWAITING_AGENT') await this.#o.hot.agentFound(row.tenantId, row.serviceId, row.id);
        return;
      }
      case 'call_ended': {
        // Talk time means customer and agent were connected, even when `connected` has not been
        // applied: lost with a flushed stream, pending on a node that died, or being handled right
        // now by another node (hence every call phase in the fence, not only the one read here).
        if (row.phase === 'TALKING' || (event.talkSeconds > 0 && CALL_PHASES.includes(row.phase))) {
          const done = await store.completeAttempt(this.#o.db, row.id, row.attempt, CALL_PHASES, 'AGENT_CONNECTED', `talk ${Math.round(event.talkSeconds)} s`, this.#o.clock.sqlNow());
          if (!done) return;
          const now = this.#o.clock.nowMs();
          const queuedAt = queueEntryMs(row, service);
          const connectedAt = now - event.talkSeconds * 1000;
          // `connected` never applied: the callback may still count as pending (finish with a sample leaves that to agentFound).
          if (row.phase === 'DIALING' || row.phase === 'AWAITING_AGENT') await this.#o.hot.agentFound(row.tenantId, row.serviceId, row.id);
          await this.#o.hot.finish(row.tenantId, row.serviceId, row.id, { atMs: now, handleSec: event.talkSeconds, waitSec: Math.max(0, (connectedAt - queuedAt) / 1000) });
          this.#o.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'COMPLETED', reason: 'AGENT_CONNECTED' });
        } else if (row.phase === 'AWAITING_AGENT' || row.phase === 'CONNECTING' || row.phase === 'DIALING') {
          await this.#failAttempt(row, 'abandoned', [row.phase]);
        }
        return;
      }
      case 'busy':
      case 'no_answer':
      case 'machine':
      case 'invalid_number':
      case 'failed': {
        if (row.phase !== 'DIALING' && row.phase !== 'CONNECTING' && row.phase !== 'AWAITING_AGENT' && row.phase !== 'RESERVING') return;
        this.#o.observer.dialOutcome?.({ tenant: row.tenantName, service: row.serviceName, outcome: event.type });
        if (row.phase === 'RESERVING') {
          // The reservation itself failed: no dial was made, so no attempt is spent.
          const back = await store.returnToQueue(this.#o.db, row.id, row.attempt, ['RESERVING'], 'reservation failed', this.#o.clock.sqlNow());
          if (back) await this.#o.hot.requeue(row.tenantId, row.serviceId, row.id, queueScore(scoreInput(row), service.options.priorityStepSec));
          return;
        }
        await this.#failAttempt(row, row.phase === 'DIALING' ? event.type : 'abandoned', [row.phase]);
        return;
      }
      default:
        return;
    }
  }

  async #advance(row: EngineRow, change: Omit<store.PhaseChange, 'state' | 'watchdogSec'>, first: 'CUSTOMER' | 'AGENT'): Promise<EngineRow | undefined> {
    const to = change.to as keyof typeof WATCHDOG_SEC;
    const state = stateOfPhase(change.to, first);
    const next = await store.advanceAttempt(this.#o.db, { ...change, state, watchdogSec: this.#watchdogSec(to) }, this.#o.clock.sqlNow());
    if (next && next.dueAt) {
      // The due entry is not moved on each step: if this node times it, it moves it when it falls
      // due; otherwise the watchdog fires early, sees the later due_at in Postgres and re-arms itself.
      this.#own.later(row.id, next.dueAt.getTime());
      if (state !== row.state) this.#o.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: state });
    }
    return next;
  }

  /** A dial (or the connection after it) failed: retry by the outcome's policy, inside business hours, or complete. */
  async #failAttempt(row: EngineRow, outcome: FailedDialOutcome, from: readonly AttemptPhase[]): Promise<void> {
    const service = await this.#services.byId(row.serviceId);
    if (!service) return;
    const dials = await store.dialCount(this.#o.db, row.id);
    const now = this.#o.clock.nowMs();
    const decision = decideRetry(outcome, Math.max(1, dials), service.options, service.hours, now, row.desiredAt.getTime() + service.options.ttlSec * 1000);
    if (decision.retry) {
      const paused = await store.pauseForRetry(this.#o.db, row.id, row.attempt, from, new Date(decision.atMs), outcome, this.#o.clock.sqlNow());
      if (paused) {
        await this.#o.hot.pause(row.tenantId, row.serviceId, row.id, decision.atMs);
        this.#scheduleTick(decision.atMs);
      }
      return;
    }
    const done = await store.completeAttempt(this.#o.db, row.id, row.attempt, from, decision.reason, outcome, this.#o.clock.sqlNow());
    if (done) {
      await this.#o.hot.finish(row.tenantId, row.serviceId, row.id);
      this.#o.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'COMPLETED', reason: decision.reason });
    }
  }

  // ---- plumbing -------------------------------------------------------------------------------------

  /** The queue score with the service's own priority step, as when the callback joined its queue. */
  async #scoreOf(row: EngineRow): Promise<number> {
    const service = await this.#services.byId(row.serviceId);
    return queueScore(scoreInput(row), service?.options.priorityStepSec ?? 60);
  }

  async #send(command: VoiceCommand): Promise<void> {
    try {
      await this.#o.voice.send(command);
    } catch (err) {
      // The attempt's watchdog re-sends it; a refused command must not abort the transition already made.
      this.#o.logger.error({ err, command: command.type }, 'voice command refused');
    }
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }
}

function scoreInput(r: EngineRow) {
  return { scheduled: r.scheduled, createdAtMs: r.createdAt.getTime(), desiredAtMs: r.desiredAt.getTime(), priority: r.priority };
}

/** When a callback joined its queue: its request time if immediate, its due time if scheduled. */
function queueEntryMs(r: EngineRow, service: EngineService): number {
  return r.scheduled ? r.desiredAt.getTime() - service.options.executionBufferSec * 1000 : r.createdAt.getTime();
}

export function parseDialKey(key: string): { id: string; attempt: number } | undefined {
  const colon = key.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const id = key.slice(0, colon);
  const attempt = Number(key.slice(colon + 1));
  if (!isCallbackId(id) || !Number.isInteger(attempt) || attempt < 1) return undefined;
  return { id, attempt };
}
