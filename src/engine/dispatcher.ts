import * as store from '../store/engine-transition-store.ts';
import * as pushStore from '../store/push-transition-store.ts';
import { dialWindow } from '../domain/calendar/dial-window.ts';
import type { EngineContext } from './engine-context.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import type { EngineService } from './service-directory.ts';

/** How the dispatcher serves USERORIGINATED services: it pushes instead of dialing (push-callbacks.ts). */
export interface PushDispatch {
  /** Places of the queue, from its head, that may be pending a push answer or an agent now (estimated wait at most the threshold). */
  places(tenantId: number, tenantName: string, service: EngineService): Promise<number>;
  /** A push was started for the row: send it. */
  pushed(row: EngineRow, service: EngineService): Promise<void>;
}

/**
 * Offers queues to free agents, with dial pacing: no more callbacks wait for an agent than the
 * platform reports free agents (customer first: dial as soon as an agent could take the call;
 * agent first: one reservation per free agent). One loop per service per node at a time; news
 * arriving during a loop makes it run once more.
 */
export class Dispatcher {
  readonly #ctx: EngineContext;
  /** Due work at `atMs` (a held callback's opening): the node's next tick comes no later. */
  readonly #wake: (atMs: number) => void;
  /** Services being dispatched (`tenant:service`), and whether news arrived meanwhile. */
  readonly #dispatching = new Map<string, boolean>();

  readonly #push: PushDispatch | undefined;

  constructor(ctx: EngineContext, wake: (atMs: number) => void, push?: PushDispatch) {
    this.#ctx = ctx;
    this.#wake = wake;
    this.#push = push;
  }

  /** Offers a service's queue to its free agents. */
  async dispatch(tenantId: number, serviceId: number): Promise<void> {
    const key = `${tenantId}:${serviceId}`;
    if (this.#dispatching.has(key)) {
      this.#dispatching.set(key, true); // run again when the current loop ends
      return;
    }
    this.#dispatching.set(key, false);
    try {
      do {
        this.#dispatching.set(key, false);
        await this.#loop(tenantId, serviceId);
      } while (this.#dispatching.get(key) === true);
    } finally {
      this.#dispatching.delete(key);
    }
  }

  /** Every queue this node has seen waiting callbacks in (the sweep's second half). */
  async dispatchActive(): Promise<void> {
    for (const [serviceId, tenantId] of this.#ctx.activeServices) await this.dispatch(tenantId, serviceId);
  }

  async #loop(tenantId: number, serviceId: number): Promise<void> {
    const ctx = this.#ctx;
    const service = await ctx.services.byId(serviceId);
    if (!service) return;
    const tenantName = await ctx.tenantName(tenantId, service);
    // USERORIGINATED: the customer is pushed, not dialed; pacing counts the places whose wait is within the push threshold.
    const push = service.options.callDirection === 'USERORIGINATED' ? this.#push : undefined;
    for (;;) {
      const free = push ? await push.places(tenantId, tenantName, service) : ctx.voice.availableAgents(tenantName, service.name);
      if (free <= 0 || !ctx.running) return;
      const first = service.options.firstConnectParty;
      const watchdog = push ? service.options.pushedCallbackExpiryTimeSec : ctx.watchdogSec(first === 'AGENT' ? 'RESERVING' : 'DIALING');
      const now = ctx.clock.nowMs();
      // One take fills every place pacing allows, so a dispatch costs one script whatever it finds.
      const taken = await ctx.hot.take(tenantId, serviceId, free, now + watchdog * 1000);
      if (taken.drained) ctx.activeServices.delete(serviceId); // empty: nothing to sweep here until something joins
      let refused = false;
      // Business hours are checked as late as possible, here: a callback that waited while the office closed is not dialed now.
      const window = dialWindow(service.hours, now);
      for (const id of taken.ids) {
        if (window.kind === 'hold') {
          const held = await store.holdUntilOpening(ctx.db, id, new Date(window.untilMs), service.options.ttlSec, ctx.clock.sqlNow());
          if (held) {
            await ctx.hot.pause(tenantId, serviceId, id, held.dueAt!.getTime());
            this.#wake(held.dueAt!.getTime());
          } else await this.#notStarted(id, tenantId, serviceId);
          refused = true; // the pacing place is free again: hold the rest of the queue too
          continue;
        }
        const row = push
          ? await pushStore.startPush(ctx.db, id, watchdog, service.options.ttlSec, ctx.clock.sqlNow())
          : await store.startAttempt(ctx.db, id, first, watchdog, service.options.ttlSec, ctx.clock.sqlNow());
        if (!row) {
          await this.#notStarted(id, tenantId, serviceId);
          refused = true;
          continue;
        }
        if (push) {
          await push.pushed(row, service);
          continue;
        }
        await ctx.send(first === 'AGENT' ? await ctx.calls.reserveAgent(row, service) : await ctx.calls.dial(row, service));
      }
      // A callback that could not start gave its pacing place back: take again while the queue has more.
      if (!refused || taken.drained) return;
    }
  }

  /** A queued entry that could not start (or be held): cancelled meanwhile, already started elsewhere, or expired. */
  async #notStarted(id: string, tenantId: number, serviceId: number): Promise<void> {
    const ctx = this.#ctx;
    const [row] = await store.engineRows(ctx.db, [id]);
    if (!row || row.state === 'COMPLETED') {
      await ctx.hot.finish(tenantId, serviceId, id);
      return;
    }
    if (row.phase === 'WAITING' && row.state === 'QUEUED') {
      const done = await store.completeAttempt(ctx.db, id, null, ['WAITING'], 'FAIL_TIMEOUT_TTL', 'ttl', ctx.clock.sqlNow());
      if (done) {
        await ctx.finished(row, 'FAIL_TIMEOUT_TTL');
        return;
      }
    }
    // In flight on another node: its watchdog entry stays; it no longer waits for an agent here.
    await ctx.hot.agentFound(tenantId, serviceId, id);
  }
}
