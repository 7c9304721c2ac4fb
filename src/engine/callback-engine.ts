import type { CallbackRecord } from '../domain/callback-record.ts';
import { dialKeyOf } from '../voice/voice-port.ts';
import { callbackQueueScore } from '../domain/engine/queue-order.ts';
import type { WaitMode } from '../domain/wait/wait-estimator.ts';
import type { WaitEstimate } from '../domain/wait/wait-estimate.ts';
import type { QueueObservation } from '../domain/wait/queue-observation.ts';
import { EngineContext } from './engine-context.ts';
import type { EngineOptions } from './engine-options.ts';
import { rebuildHotState } from './hot-state-rebuild.ts';
import type { ServiceDirectory } from './service-directory.ts';
import { WaitView } from './wait-view.ts';
import { WaitPredictions } from './wait-predictions.ts';
import { Dispatcher } from './dispatcher.ts';
import { AttemptDriver } from './attempt-driver.ts';
import { AttemptWatchdog } from './attempt-watchdog.ts';
import { DueWork } from './due-work.ts';
import { HeldAgents } from './held-agents.ts';
import { DispositionHandler, type Recreate } from './disposition-handler.ts';

export type { EngineObserver, EngineOptions } from './engine-options.ts';
export { WATCHDOG_SEC } from './watchdog-times.ts';
export { parseDialKey } from './dial-key.ts';
export type { Recreate, RecreateOutcome, RecreateRequest } from './disposition-handler.ts';

/**
 * The callback engine of one node. It owns nothing: every decision is a fenced statement on the
 * callback row, and every index it reads can be rebuilt, so any number of nodes run it side by
 * side and any of them can handle any event or due entry.
 *
 * Work arrives three ways: due entries (scheduled callbacks becoming QUEUED, ends of retry pauses,
 * watchdogs: due-work.ts, attempt-watchdog.ts), the queues (dispatched when agents are free:
 * dispatcher.ts), and platform events (each moves one attempt one step: attempt-driver.ts, by the
 * table of src/domain/engine/attempt-transitions.ts). This class is their façade: the lifecycle
 * of the node and the hooks the API calls. docs/ENGINE.md describes the design.
 */
export class CallbackEngine {
  readonly #ctx: EngineContext;
  readonly #waits: WaitPredictions;
  readonly #dispatcher: Dispatcher;
  readonly #held: HeldAgents;
  readonly #driver: AttemptDriver;
  readonly #watchdog: AttemptWatchdog;
  readonly #due: DueWork;
  readonly #dispositions: DispositionHandler;
  #unsubscribe: (() => void) | undefined;
  #rebuilding: Promise<void> | undefined;

  constructor(options: EngineOptions) {
    const ctx = new EngineContext(options);
    this.#ctx = ctx;
    this.#waits = new WaitPredictions(ctx, new WaitView(options.hot, options.voice, () => options.clock.nowMs()));
    this.#dispatcher = new Dispatcher(ctx, (atMs) => this.#due.wake(atMs));
    this.#held = new HeldAgents(ctx);
    this.#dispositions = new DispositionHandler(ctx);
    this.#driver = new AttemptDriver(
      ctx,
      {
        dispatch: (tenantId, serviceId) => this.#dispatcher.dispatch(tenantId, serviceId),
        wake: (atMs) => this.#due.wake(atMs),
        heard: (dialKey) => this.#watchdog.heard(dialKey),
        served: (row, service) => this.#dispositions.served(row, service),
      },
      this.#held,
    );
    this.#watchdog = new AttemptWatchdog(ctx, this.#driver, this.#held);
    this.#due = new DueWork(ctx, {
      dispatch: (tenantId, serviceId) => this.#dispatcher.dispatch(tenantId, serviceId),
      dispatchActive: () => this.#dispatcher.dispatchActive(),
      predict: (tenantId, serviceId, ids) => this.#waits.predict(tenantId, serviceId, ids),
      stalled: (row) => this.#watchdog.stalled(row),
      sweep: async () => {
        await this.#held.sweep();
        await this.#dispositions.sweep();
      },
      rebuild: () => this.rebuild(),
    });
  }

  get services(): ServiceDirectory {
    return this.#ctx.services;
  }

  // ---- lifecycle ------------------------------------------------------------------------------------

  async start(): Promise<void> {
    const ctx = this.#ctx;
    ctx.running = true;
    // A disposition comes after its callback completed: its own handler, not the attempt's fence.
    this.#unsubscribe = ctx.voice.onEvent((event) => ctx.track(event.type === 'disposition' ? this.#dispositions.onEvent(event) : this.#driver.onEvent(event)));
    const w = await ctx.hot.wakeups(1);
    if (!w.intact) await this.rebuild();
    await this.#due.start();
  }

  /**
   * Stops taking work (no more claims of due entries, no more dispatch) and waits for what is in
   * hand, which settles every lease this node took; platform events are still handled, so a node
   * shutting down can stop its voice port's reads before stop() without losing an event.
   */
  async quiesce(): Promise<void> {
    this.#ctx.running = false;
    this.#due.stopTicking();
    await this.idle();
  }

  /** Stops taking work and platform events, and waits for what is in hand (see quiesce). */
  async stop(): Promise<void> {
    this.#ctx.running = false;
    this.#due.stopTicking();
    this.#unsubscribe?.();
    this.#driver.cancelTimers();
    await this.idle();
    await this.#due.retire();
  }

  /** Resolves when no work started by this engine is still running (tests and simulations step on it). */
  idle(): Promise<void> {
    return this.#ctx.idle();
  }

  /** Rebuilds the hot state from Postgres (also `ges recover`); concurrent calls share one run. */
  rebuild(): Promise<void> {
    const ctx = this.#ctx;
    this.#rebuilding ??= (async () => {
      try {
        const counts = await rebuildHotState(ctx.db, ctx.hot, (row) => ctx.services.queueScore(row));
        for (const [serviceId, tenantId] of counts.services) ctx.activeServices.set(serviceId, tenantId);
        // The queues may have been refilled after the agents' last agent_ready: offer them now, not at the next sweep.
        for (const [serviceId, tenantId] of counts.services) void ctx.track(this.#dispatcher.dispatch(tenantId, serviceId));
        ctx.logger.info({ ...counts, services: counts.services.size }, 'hot state rebuilt from the database');
      } finally {
        this.#rebuilding = undefined;
      }
    })();
    return this.#rebuilding;
  }

  // ---- hooks from the API side ----------------------------------------------------------------------

  /**
   * Connects the create path that a CALL_BACK_LATER disposition recreates callbacks through (set
   * once at start-up); without it such a disposition is left unacknowledged for a node that has one.
   */
  attachRecreate(recreate: Recreate): void {
    this.#dispositions.attachRecreate(recreate);
  }

  /** A callback was created: immediate ones join the queue at once, scheduled ones wait for their due time. */
  created(c: {
    id: string;
    tenantId: number;
    serviceId: number;
    scheduled: boolean;
    createdAt: Date;
    desiredAt: Date;
    dueAt: Date | null;
    priority: number;
    priorityStepSec: number;
  }): Promise<void> {
    const ctx = this.#ctx;
    return ctx.track(
      (async () => {
        if (c.scheduled && c.dueAt) {
          await ctx.hot.setDue(c.tenantId, [{ id: c.id, atMs: c.dueAt.getTime() }]);
          this.#due.wake(c.dueAt.getTime());
          return;
        }
        await ctx.hot.enqueue(c.tenantId, c.serviceId, [{ id: c.id, score: callbackQueueScore({ ...c, scheduled: false }, c.priorityStepSec) }]);
        ctx.activeServices.set(c.serviceId, c.tenantId);
        await this.#waits.predict(c.tenantId, c.serviceId, [c.id]);
        await this.#dispatcher.dispatch(c.tenantId, c.serviceId);
      })(),
    );
  }

  /** A scheduled callback moved: its due entry follows. */
  rescheduled(c: { id: string; tenantId: number; dueAt: Date }): Promise<void> {
    const ctx = this.#ctx;
    return ctx.track(
      (async () => {
        await ctx.hot.setDue(c.tenantId, [{ id: c.id, atMs: c.dueAt.getTime() }]);
        this.#due.wake(c.dueAt.getTime());
      })(),
    );
  }

  /**
   * A callback was cancelled: out of every index, and the platform told to stop any call of its
   * attempt and to give back an agent held for it (the platform sends no event for a cancel).
   */
  cancelled(c: { id: string; tenantId: number; serviceId: number; attempt: number }): Promise<void> {
    const ctx = this.#ctx;
    return ctx.track(
      (async () => {
        if (c.attempt > 0) {
          const dialKey = dialKeyOf(c.id, c.attempt);
          await ctx.send({ type: 'cancel', dialKey });
          await this.#held.release(dialKey);
        }
        await ctx.hot.finish(c.tenantId, c.serviceId, c.id);
      })(),
    );
  }

  /** Live place and wait of an active callback (retrieve's positionInQueue and estimatedWaitTime). */
  live(tenantId: number, record: CallbackRecord): Promise<{ positionInQueue: number; estimatedWaitTime: number } | undefined> {
    return this.#waits.live(tenantId, record);
  }

  /** The queue's estimated wait for a callback booked now (estimated-wait-time, queue-status, statistics). */
  queueWait(tenantId: number, tenantName: string, serviceId: number, mode: WaitMode): Promise<{ estimate: WaitEstimate; obs: QueueObservation } | undefined> {
    return this.#waits.queueWait(tenantId, tenantName, serviceId, mode);
  }
}
