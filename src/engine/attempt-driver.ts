import * as store from '../store/engine-transition-store.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import type { DialKey, VoiceEvent } from '../voice/voice-port.ts';
import { dialWindow } from '../domain/calendar/dial-window.ts';
import { dialKeyOf } from '../voice/voice-port.ts';
import { stateOfPhase, type AttemptPhase, type FirstConnectParty } from '../domain/engine/attempt-phase.ts';
import { decideRetry, type FailedDialOutcome } from '../domain/engine/dial-retry-policy.ts';
import { attemptOver, decideAttemptStep, type AttemptEvent, type AttemptStep } from '../domain/engine/attempt-transitions.ts';
import { queueEntryMs, type EngineContext } from './engine-context.ts';
import type { EngineService } from './service-directory.ts';
import type { WatchedPhase } from './watchdog-times.ts';
import type { HeldAgents } from './held-agents.ts';
import { parseDialKey } from './dial-key.ts';

/** An attempt waiting for an agent (no_agent) asks the platform again this often, or at the next agent_ready of its queue. */
const AGENT_RETRY_MS = 3000;

/** What the driver asks of the other parts of the engine. */
export interface AttemptDriverHooks {
  dispatch(tenantId: number, serviceId: number): Promise<void>;
  /** Due work at `atMs` (a retry pause's end): the node's next tick comes no later. */
  wake(atMs: number): void;
  /** An event of the attempt arrived: its watchdog's stall count starts again. */
  heard(dialKey: string): void;
  /** The call_ended that completed the callback AGENT_CONNECTED was applied (the disposition dialog follows). */
  served?(row: EngineRow, service: EngineService): Promise<void>;
}

/**
 * Platform events, each moving one attempt one step: it reads the attempt, asks the decision
 * table (src/domain/engine/attempt-transitions.ts) what the event means there, and carries the
 * step out as one fenced statement, then updates the hot state and tells the platform what follows.
 */
export class AttemptDriver {
  readonly #ctx: EngineContext;
  readonly #hooks: AttemptDriverHooks;
  readonly #held: HeldAgents;
  /** Attempts of this node that wait to ask for an agent again, by service: news of a free agent asks at once. */
  readonly #askAgain = new Map<number, Map<string, { cancel(): void; run(): void }>>();
  /** Attempts of this node waiting out agentRejectRetryTimeoutSec after a preview reject, by dial key. */
  readonly #afterReject = new Map<string, () => void>();

  constructor(ctx: EngineContext, hooks: AttemptDriverHooks, held: HeldAgents) {
    this.#ctx = ctx;
    this.#hooks = hooks;
    this.#held = held;
  }

  async onEvent(event: VoiceEvent): Promise<void> {
    try {
      if (event.type === 'agent_ready') return await this.#agentReady(event.tenant, event.queue);
      if (!('dialKey' in event)) return; // presence and inbound calls: not an attempt's event
      const parsed = parseDialKey(event.dialKey);
      if (!parsed) return; // not an outbound attempt of ours (inbound calls are keyed in:<callId>)
      const [row] = await store.engineRows(this.#ctx.db, [parsed.id]);
      if (!row || row.attempt !== parsed.attempt || row.state === 'COMPLETED' || attemptOver(row.phase)) {
        // Stale: fenced out, whatever it says. An agent held for an attempt that is over is given back, though.
        if (event.type === 'agent_reserved') await this.#held.late(row, parsed.attempt, event.dialKey, event.agentId);
        return;
      }
      const service = await this.#ctx.services.byId(row.serviceId);
      if (!service) return;
      this.#hooks.heard(event.dialKey);
      const attemptEvent = toAttemptEvent(event);
      if (!attemptEvent) return;
      if (row.phase === 'CONFIRMING' && (event.type === 'customer_confirmed' || event.type === 'customer_not_confirmed'))
        this.#ctx.observer.customerConfirm?.({
          tenant: row.tenantName,
          service: row.serviceName,
          outcome: event.type === 'customer_confirmed' ? 'confirmed' : event.why,
        });
      const step = decideAttemptStep(
        {
          phase: row.phase,
          first: service.options.firstConnectParty,
          attempt: row.attempt,
          predicted: row.ewtAt !== null,
          expired: row.desiredAt.getTime() + service.options.ttlSec * 1000 <= this.#ctx.clock.nowMs(),
          ...(service.options.userConfirm && service.options.firstConnectParty === 'CUSTOMER'
            ? { confirm: { onNoConfirm: service.options.onUserConfirmTimeout } }
            : {}),
          ...(service.options.agentPreview ? { preview: { rejects: row.previewRejects.length, maxRejects: service.options.maxPreviewRejects } } : {}),
          onMachine: service.options.onMachine,
        },
        attemptEvent,
      );
      await this.#carryOut(row, service, step, 'cause' in event ? event.cause : undefined);
    } catch (err) {
      this.#ctx.logger.error({ err, event: event.type }, 'voice event handling failed');
      throw err;
    }
  }

  async #agentReady(tenantName: string, queue: string): Promise<void> {
    const ctx = this.#ctx;
    const service = await ctx.services.byNames(tenantName, queue);
    if (!service) return;
    ctx.learnTenantName(service.tenantId, tenantName);
    // Attempts of this queue waiting to ask again for an agent ask now: they are ahead of the queue.
    const waiting = this.#askAgain.get(service.id);
    if (waiting) for (const w of [...waiting.values()]) w.run();
    // Every node hears every agent_ready: a queue this node has seen empty costs one look, not a take.
    if (ctx.activeServices.has(service.id) || (await ctx.hot.hasWaiting(service.tenantId, service.id)))
      await this.#hooks.dispatch(service.tenantId, service.id);
  }

  /** `cause`: what the platform said of the event (a SIP status...), added to the step's history detail. */
  async #carryOut(row: EngineRow, service: EngineService, step: AttemptStep, cause?: string): Promise<void> {
    const ctx = this.#ctx;
    const told = (detail: string) => withCause(detail, cause);
    const first = service.options.firstConnectParty;
    const key = dialKeyOf(row.id, row.attempt);
    const report = (outcome: string | undefined) => {
      if (outcome) ctx.observer.dialOutcome?.({ tenant: row.tenantName, service: row.serviceName, outcome });
    };
    switch (step.step) {
      case 'ignore':
        return;
      case 'advance': {
        // Agent first, the agent found after closing: the customer is not dialed after hours.
        if (step.then.type === 'dial' && dialWindow(service.hours, ctx.clock.nowMs()).kind === 'hold') {
          await this.#closedBeforeDial(row, step.from, key, step.then.agentId);
          return;
        }
        report(step.outcome);
        // An agent reserved is recorded in the same statement: any node can give it back later.
        const next = await this.advance(
          row,
          step.from,
          step.to,
          step.history,
          told(step.detail),
          first,
          step.holds === undefined ? undefined : { holds: step.holds },
        );
        if (!next) return;
        if (step.agentFound) await ctx.hot.agentFound(row.tenantId, row.serviceId, row.id);
        // Built from the row this event read: the context costs no second read.
        const then = step.then;
        if (then.type === 'dial') await ctx.send(await ctx.calls.dial(row, service, then.agentId));
        else if (then.type === 'connect') await ctx.send(await ctx.calls.connect(row, service, then.agentId));
        else if (then.type === 'leave_message') await ctx.send(ctx.calls.leaveMessage(row, service));
        else if (then.type === 'confirm_customer') await ctx.send(ctx.calls.confirmCustomer(row, service));
        else if (then.type === 'preview') await ctx.send(ctx.calls.preview(row, then.agentId, service));
        // The row as the statement left it: its preview rejects are the ones to exclude.
        else await ctx.send(await ctx.calls.reserveAgent({ ...next, call: next.call ?? row.call }, service));
        return;
      }
      case 'talk': {
        const next = await this.advance(row, step.from, 'TALKING', 'STATE', store.AGENT_CONNECTED_DETAIL, first, 'connected');
        if (!next) return;
        if (step.measureWait && row.ewtAt) {
          const queuedAt = queueEntryMs(row, service);
          ctx.observer.waitMeasured?.({
            tenant: row.tenantName,
            service: row.serviceName,
            predictedSec: Math.max(0, (row.ewtAt.getTime() - queuedAt) / 1000),
            actualSec: Math.max(0, (ctx.clock.nowMs() - queuedAt) / 1000),
          });
        }
        if (step.agentFound) await ctx.hot.agentFound(row.tenantId, row.serviceId, row.id);
        return;
      }
      case 'complete': {
        const done = await store.completeAttempt(
          ctx.db,
          row.id,
          row.attempt,
          step.from,
          'AGENT_CONNECTED',
          told(`talk ${Math.round(step.talkSeconds)} s`),
          ctx.clock.sqlNow(),
        );
        if (!done) return;
        const now = ctx.clock.nowMs();
        const queuedAt = queueEntryMs(row, service);
        const connectedAt = now - step.talkSeconds * 1000;
        // Finishing with a sample leaves the pending entry to agentFound.
        if (step.agentFound) await ctx.hot.agentFound(row.tenantId, row.serviceId, row.id);
        await ctx.finished(row, 'AGENT_CONNECTED', { atMs: now, handleSec: step.talkSeconds, waitSec: Math.max(0, (connectedAt - queuedAt) / 1000) });
        await this.#hooks.served?.(done, service);
        return;
      }
      case 'fail':
        report(step.reported);
        await this.failAttempt(row, step.outcome, step.from, cause);
        if (step.releaseAgent) await this.#held.release(key);
        return;
      case 'requeue': {
        report(step.reported);
        const back = await store.returnToQueue(ctx.db, row.id, row.attempt, step.from, told(step.detail), ctx.clock.sqlNow());
        if (!back) return;
        if (step.releaseAgent) await this.#held.release(key);
        await ctx.hot.requeue(row.tenantId, row.serviceId, row.id, await ctx.services.queueScore(row));
        ctx.activeServices.set(row.serviceId, row.tenantId);
        return;
      }
      case 'end': {
        const done = await store.completeAttempt(
          ctx.db,
          row.id,
          row.attempt,
          step.from,
          step.reason,
          told(step.detail),
          ctx.clock.sqlNow(),
          step.rejectedBy?.agentId,
        );
        if (!done) return;
        if (step.rejectedBy) ctx.observer.previewRejected?.({ tenant: row.tenantName, service: row.serviceName, why: step.rejectedBy.why });
        // The customer may be on the line (customer first): the call is hung up, the key spent.
        await ctx.send({ type: 'cancel', dialKey: key });
        await this.#held.release(key);
        await ctx.finished(row, step.reason);
        return;
      }
      case 'rejected': {
        const delaySec = service.options.agentRejectRetryTimeoutSec;
        const next = await store.recordPreviewReject(
          ctx.db,
          {
            id: row.id,
            attempt: row.attempt,
            agentId: step.agentId,
            to: step.to === 'RESERVING' ? 'RESERVING' : 'AWAITING_AGENT',
            watchdogSec: ctx.watchdogSec(step.to as WatchedPhase) + delaySec,
            detail: `preview ${step.why}`,
          },
          ctx.clock.sqlNow(),
        );
        if (!next) return;
        ctx.observer.previewRejected?.({ tenant: row.tenantName, service: row.serviceName, why: step.why });
        if (next.dueAt) ctx.hot.later(row.id, next.dueAt.getTime());
        if (next.state !== row.state) ctx.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: next.state });
        await this.#held.release(key);
        this.#askAfterReject({ ...next, call: next.call ?? row.call }, service, delaySec * 1000);
        return;
      }
      case 'askAgain':
        this.#scheduleAskAgain(row, service);
        return;
      case 'expire': {
        const done = await store.completeAttempt(ctx.db, row.id, row.attempt, step.from, 'FAIL_TIMEOUT_TTL', 'ttl', ctx.clock.sqlNow());
        if (done) await ctx.finished(row, 'FAIL_TIMEOUT_TTL');
        return;
      }
      case 'messageLeft': {
        const done = await store.completeAttempt(ctx.db, row.id, row.attempt, step.from, 'MESSAGE_LEFT', 'message left', ctx.clock.sqlNow());
        if (done) await ctx.finished(row, 'MESSAGE_LEFT');
        if (step.releaseAgent) await this.#held.release(key);
        return;
      }
    }
  }

  /**
   * An agent was reserved for an attempt whose office has closed meanwhile: no dial was made, so the
   * callback waits in its queue again with its attempt unspent (the dispatcher then holds it until
   * the opening), and the agent is given back at once.
   */
  async #closedBeforeDial(row: EngineRow, from: readonly AttemptPhase[], key: DialKey, agentId: string): Promise<void> {
    const ctx = this.#ctx;
    const back = await store.returnToQueue(ctx.db, row.id, row.attempt, from, 'closed before the dial', ctx.clock.sqlNow());
    if (!back) return;
    await ctx.send({ type: 'release_agent', dialKey: key, agentId });
    await ctx.hot.requeue(row.tenantId, row.serviceId, row.id, await ctx.services.queueScore(row));
    ctx.activeServices.set(row.serviceId, row.tenantId);
    await this.#hooks.dispatch(row.tenantId, row.serviceId);
  }

  /** Drops the asks this node has not made yet (stopping: the watchdogs of those attempts stay in the due index). */
  cancelTimers(): void {
    for (const waiting of this.#askAgain.values()) for (const w of waiting.values()) w.cancel();
    this.#askAgain.clear();
    for (const cancel of this.#afterReject.values()) cancel();
    this.#afterReject.clear();
  }

  /**
   * After a preview reject, asks for another agent once agentRejectRetryTimeoutSec has passed (not
   * sooner on agent_ready: the agent who rejected is about to be ready again). If this node dies
   * meanwhile, the attempt's watchdog asks, with the same agents excluded.
   */
  #askAfterReject(row: EngineRow, service: EngineService, delayMs: number): void {
    const ctx = this.#ctx;
    const key = dialKeyOf(row.id, row.attempt);
    this.#afterReject.get(key)?.();
    const cancel = ctx.clock.at(ctx.clock.nowMs() + delayMs, () => {
      if (this.#afterReject.get(key) === cancel) this.#afterReject.delete(key);
      void ctx.track(ctx.calls.reserveAgent(row, service).then((command) => ctx.send(command)));
    });
    this.#afterReject.set(key, cancel);
  }

  /**
   * Asks the platform again for an agent for the attempt (the same dial key: the platform holds
   * nobody for it yet), after AGENT_RETRY_MS or at the next agent_ready of its queue, whichever
   * comes first. The customer on the line, if any, waits as long as the platform lets them.
   */
  #scheduleAskAgain(row: EngineRow, service: EngineService): void {
    const ctx = this.#ctx;
    const key = dialKeyOf(row.id, row.attempt);
    const waiting = this.#askAgain.get(row.serviceId) ?? new Map<string, { cancel(): void; run(): void }>();
    this.#askAgain.set(row.serviceId, waiting);
    waiting.get(key)?.cancel();
    const run = () => {
      cancel();
      if (waiting.get(key) === entry) waiting.delete(key);
      if (waiting.size === 0 && this.#askAgain.get(row.serviceId) === waiting) this.#askAgain.delete(row.serviceId);
      void ctx.track(ctx.calls.reserveAgent(row, service).then((command) => ctx.send(command)));
    };
    const cancel = ctx.clock.at(ctx.clock.nowMs() + AGENT_RETRY_MS, run);
    const entry = { cancel, run };
    waiting.set(key, entry);
  }

  /** Moves an attempt on to its next phase, with that phase's watchdog; undefined when fenced out. */
  async advance(
    row: EngineRow,
    from: readonly AttemptPhase[],
    to: AttemptPhase,
    kind: 'STATE' | 'DIAL',
    detail: string,
    first: FirstConnectParty,
    agent?: store.PhaseChange['agent'],
  ): Promise<EngineRow | undefined> {
    const ctx = this.#ctx;
    const state = stateOfPhase(to, first);
    const next = await store.advanceAttempt(
      ctx.db,
      { id: row.id, attempt: row.attempt, from, to, state, watchdogSec: ctx.watchdogSec(to as WatchedPhase), kind, detail, agent },
      ctx.clock.sqlNow(),
    );
    if (next && next.dueAt) {
      // The due entry is not moved on each step: if this node times it, it moves it when it falls
      // due; otherwise the watchdog fires early, sees the later due_at in Postgres and re-arms itself.
      ctx.hot.later(row.id, next.dueAt.getTime());
      if (state !== row.state) ctx.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: state });
    }
    return next;
  }

  /** A dial (or the connection after it) failed: retry by the outcome's policy, inside business hours, or complete. */
  async failAttempt(row: EngineRow, outcome: FailedDialOutcome, from: readonly AttemptPhase[], cause?: string): Promise<void> {
    const ctx = this.#ctx;
    const service = await ctx.services.byId(row.serviceId);
    if (!service) return;
    const dials = await store.dialCount(ctx.db, row.id);
    const now = ctx.clock.nowMs();
    const decision = decideRetry(outcome, Math.max(1, dials), service.options, service.hours, now, row.desiredAt.getTime() + service.options.ttlSec * 1000);
    if (decision.retry) {
      const paused = await store.pauseForRetry(ctx.db, row.id, row.attempt, from, new Date(decision.atMs), withCause(outcome, cause), ctx.clock.sqlNow());
      if (paused) {
        await ctx.hot.pause(row.tenantId, row.serviceId, row.id, decision.atMs);
        this.#hooks.wake(decision.atMs);
      }
      return;
    }
    const done = await store.completeAttempt(ctx.db, row.id, row.attempt, from, decision.reason, withCause(outcome, cause), ctx.clock.sqlNow());
    if (done) await ctx.finished(row, decision.reason);
  }
}

/**
 * A history detail with what the platform said beside it: "busy (SIP 486)". The dial step's own
 * detail stays exactly 'dial' (dials are counted by it).
 */
function withCause(detail: string, cause: string | undefined): string {
  return cause === undefined || detail === 'dial' ? detail : `${detail} (${cause})`;
}

/** The part of a platform event the decision table reads; undefined for events that are not an attempt's. */
function toAttemptEvent(e: VoiceEvent): AttemptEvent | undefined {
  switch (e.type) {
    case 'agent_reserved':
      return { type: e.type, agentId: e.agentId };
    case 'call_ended':
      return { type: e.type, talkSeconds: e.talkSeconds };
    case 'customer_confirmed':
      return { type: e.type };
    case 'customer_not_confirmed':
      return { type: e.type, why: e.why };
    case 'preview_accepted':
      return { type: e.type, agentId: e.agentId };
    case 'preview_rejected':
      return { type: e.type, agentId: e.agentId, why: e.why };
    case 'answered':
    case 'no_agent':
    case 'connected':
    case 'busy':
    case 'no_answer':
    case 'machine':
    case 'invalid_number':
    case 'failed':
    case 'fax':
    case 'sit':
    case 'network_failure':
    case 'message_left':
      return { type: e.type };
    default:
      return undefined;
  }
}
