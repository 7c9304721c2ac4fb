import { randomBytes } from 'node:crypto';
import * as store from '../store/engine-transition-store.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import type { Wakeups } from '../hot/hot-state.ts';
import { queueEntryMs, type EngineContext } from './engine-context.ts';
import { livenessMs } from './watchdog-times.ts';

/** How soon a callback claimed a hair before Postgres saw it due is looked at again (ms). */
const RECHECK_MS = 25;
/** How soon entries claimed in a round that failed (the database or Redis went away) are looked at again (ms). */
const FAILED_ROUND_RECHECK_MS = 1000;

/** What due work asks of the other parts of the engine. */
export interface DueWorkHooks {
  dispatch(tenantId: number, serviceId: number): Promise<void>;
  dispatchActive(): Promise<void>;
  predict(tenantId: number, serviceId: number, ids: readonly string[]): Promise<void>;
  /** The watchdog of an attempt in flight fired. */
  stalled(row: EngineRow): Promise<void>;
  /** Periodic work beside the expiry sweep (agents held for attempts that ended on another node). */
  sweep(): Promise<void>;
  rebuild(): Promise<void>;
}

/**
 * Work that comes due: scheduled callbacks joining their queue, ends of retry pauses, watchdogs of
 * attempts in flight, and the periodic sweep (time-to-live expiry, then queues offered to free
 * agents). One timer per node: set to the earliest due time it knows (wake-ups from the index, its
 * own watchdogs and leases, its liveness renewal), and at most `pollMs` away.
 */
export class DueWork {
  readonly #ctx: EngineContext;
  readonly #hooks: DueWorkHooks;
  /** This node's name in the wake-up index's liveness entries. */
  readonly #node = randomBytes(6).toString('hex');
  #renewLivenessAt = -Infinity;
  #cancelTick: (() => void) | undefined;
  #nextTickAt = Infinity;
  #lastSweepAt = 0;

  constructor(ctx: EngineContext, hooks: DueWorkHooks) {
    this.#ctx = ctx;
    this.#hooks = hooks;
  }

  /** Starts: renews the liveness entry and sets the first tick. */
  async start(): Promise<void> {
    await this.#liveness(this.#ctx.clock.nowMs(), []);
    this.wake(this.#ctx.clock.nowMs());
  }

  /** No more ticks (the one running finishes). */
  stopTicking(): void {
    this.#cancelTick?.();
  }

  /**
   * Leaves the wake-up index's liveness entries: first the watchdogs only this node timed are
   * announced (each such tenant's wake-up set to its earliest due entry), then its own entry goes,
   * so no other node rebuilds on its account.
   */
  async retire(): Promise<void> {
    const { hot, logger } = this.#ctx;
    try {
      for (const tenantId of hot.tenants()) await hot.settleWakeup(tenantId);
      await hot.retire(this.#node);
    } catch (err) {
      logger.warn({ err }, "could not hand over this node's watchdogs; its liveness entry will lapse and another node will rebuild");
    }
  }

  /** Due work at `atMs`: the next tick comes no later (and no later than a poll from now). */
  wake(atMs: number): void {
    const { clock, settings } = this.#ctx;
    if (!this.#ctx.running) return;
    const now = clock.nowMs();
    const at = Math.min(Math.max(atMs, now), now + settings.pollMs);
    if (at >= this.#nextTickAt) return;
    this.#cancelTick?.();
    this.#nextTickAt = at;
    this.#cancelTick = clock.at(at, () => {
      this.#nextTickAt = Infinity;
      this.#cancelTick = undefined;
      void this.#ctx.track(this.#tick());
    });
  }

  async #tick(): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx.running) return;
    let next = Infinity;
    try {
      const w = await ctx.hot.wakeups(16);
      if (!w.intact) {
        ctx.logger.warn('hot state lost (empty or flushed): rebuilding it from the database');
        await this.#hooks.rebuild();
      }
      const now = ctx.clock.nowMs();
      await this.#liveness(now, w.nodes);
      await ctx.hot.moveKnown(now);
      const own = ctx.hot.dueTenants(now);
      for (const { tenantId, atMs } of w.tenants) {
        if (atMs <= now) {
          // Its next wake-up counts too: a busy tenant's next entry is often due before the next poll.
          next = Math.min(next, (await this.#processDue(tenantId, true)) ?? Infinity);
          own.delete(tenantId);
        } else next = Math.min(next, atMs);
      }
      // Entries only this node times (its watchdogs, its leases): no wake-up to settle.
      for (const tenantId of own) await this.#processDue(tenantId, false);
      if (now - this.#lastSweepAt >= ctx.settings.sweepMs) {
        this.#lastSweepAt = now;
        await this.#sweep();
      }
    } catch (err) {
      ctx.logger.error({ err }, 'engine tick failed; retrying at the next poll');
    } finally {
      this.wake(Math.min(next, ctx.hot.earliest() ?? Infinity, this.#renewLivenessAt));
    }
  }

  /**
   * Renews this node's liveness entry (it promises to time its own watchdogs meanwhile), and
   * recovers for a node whose entry lapsed: it died or stalled holding watchdogs nobody else
   * knows of. The one node that removes the entry rebuilds the hot state, which announces them.
   */
  async #liveness(now: number, nodes: Wakeups['nodes']): Promise<void> {
    const { hot, logger, settings } = this.#ctx;
    if (now >= this.#renewLivenessAt) {
      const ttl = livenessMs(settings.watchdogCapSec);
      await hot.heartbeat(this.#node, now + ttl);
      this.#renewLivenessAt = now + ttl / 3;
    }
    for (const n of nodes) {
      if (n.node === this.#node || n.atMs > now) continue;
      if (await hot.retire(n.node)) {
        logger.warn({ node: n.node }, 'a node stopped renewing its liveness entry: rebuilding the hot state to announce its watchdogs');
        await this.#hooks.rebuild();
      }
    }
  }

  /** Claims and handles a tenant's due entries; `settle` when its wake-up was due (it is then moved on, and returned). */
  async #processDue(tenantId: number, settle: boolean): Promise<number | undefined> {
    const ctx = this.#ctx;
    const from = ctx.clock.nowMs();
    for (;;) {
      if (!ctx.running) break; // stopping: the batch in hand is finished, no new one is claimed
      const now = ctx.clock.nowMs();
      const ids = await ctx.hot.claimDue(tenantId, now, ctx.settings.leaseMs, ctx.settings.batch);
      if (ids.length === 0) break;
      try {
        await this.#handleClaimed(tenantId, ids, now);
      } catch (err) {
        // A statement failed with these in hand (a database restart, a terminated backend, Redis
        // silent). Left alone they would wait out their lease (30 s), stretching a retry pause or a
        // scheduled callback's start by that much for an outage of a second: look again soon. Only
        // entries still there are moved (one handled and removed stays removed), and every step is
        // fenced in SQL, so looking at one twice repeats nothing.
        await ctx.hot
          .moveDue(
            tenantId,
            ids.map((id) => ({ id, atMs: now + FAILED_ROUND_RECHECK_MS })),
          )
          .catch(() => undefined);
        throw err;
      }
      if (ids.length < ctx.settings.batch) break;
    }
    if (ctx.running) ctx.hot.looked(tenantId, from);
    return settle ? ctx.hot.settleWakeup(tenantId) : undefined;
  }

  /** Claimed due entries: scheduled callbacks join their queues, the others are compared with Postgres. */
  async #handleClaimed(tenantId: number, ids: readonly string[], now: number): Promise<void> {
    const ctx = this.#ctx;
    const queued = await store.queueDueScheduled(ctx.db, ids, ctx.clock.sqlNow());
    await this.joinQueues(queued);
    for (const row of queued) {
      ctx.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'QUEUED' });
      const service = await ctx.services.byId(row.serviceId);
      if (service) ctx.observer.dispatchLateness?.({ tenant: row.tenantName, seconds: Math.max(0, (now - queueEntryMs(row, service)) / 1000) });
    }
    const done = new Set(queued.map((r) => r.id));
    const rest = ids.filter((id) => !done.has(id));
    if (rest.length > 0) {
      const rows = await store.engineRows(ctx.db, rest);
      const found = new Set(rows.map((r) => r.id));
      const gone = rest.filter((id) => !found.has(id));
      if (gone.length > 0) await ctx.hot.removeDue(tenantId, gone);
      for (const row of rows) await this.#reconcile(row, now);
    }
  }

  /** Callbacks that just became QUEUED: into their queues (by virtual start time), out of the due index. */
  async joinQueues(rows: readonly EngineRow[]): Promise<void> {
    const ctx = this.#ctx;
    const byService = new Map<number, EngineRow[]>();
    for (const r of rows) byService.set(r.serviceId, [...(byService.get(r.serviceId) ?? []), r]);
    for (const [serviceId, list] of byService) {
      const tenantId = list[0]!.tenantId;
      const entries = [];
      for (const r of list) entries.push({ id: r.id, score: await ctx.services.queueScore(r) });
      await ctx.hot.enqueue(tenantId, serviceId, entries);
      await ctx.hot.removeDue(
        tenantId,
        list.map((r) => r.id),
      );
      ctx.activeServices.set(serviceId, tenantId);
      await this.#hooks.predict(
        tenantId,
        serviceId,
        list.filter((r) => r.attempt === 0 && r.ewtAt === null).map((r) => r.id),
      );
      await this.#hooks.dispatch(tenantId, serviceId);
    }
  }

  /** A due entry whose callback is not a scheduled one coming due: compare with Postgres and act. */
  async #reconcile(row: EngineRow, now: number): Promise<void> {
    const ctx = this.#ctx;
    const hot = ctx.hot;
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
        const back = await store.endRetryPause(ctx.db, row.id, row.attempt, ctx.clock.sqlNow());
        if (back) {
          await this.joinQueues([back]);
          return;
        }
      }
      // Due here but not for Postgres: this node's clock runs ahead of the database's, or Postgres
      // keeps microseconds a JS Date does not, so an entry claimed in the very millisecond it falls
      // due can be a hair early there. Look again a moment later rather than when the lease ends
      // (30 s): a retry pause, like a scheduled callback, then lasts what it was set to.
      await hot.setDue(row.tenantId, [{ id: row.id, atMs: Math.max(now, dueMs ?? now) + RECHECK_MS }]);
      return;
    }
    if (row.phase === 'WAITING') {
      // Waiting in its queue as far as Postgres knows (e.g. a node died between steps): make sure it is queued.
      await this.joinQueues([row]);
      return;
    }
    // An attempt in flight: its watchdog is re-armed unannounced (this node times it).
    if (dueMs !== undefined && dueMs > now) {
      await hot.moveDue(row.tenantId, [{ id: row.id, atMs: dueMs }]);
      return;
    }
    await this.#hooks.stalled(row);
  }

  /** Waiting callbacks past their time to live complete FAIL_TIMEOUT_TTL; then queues with work are offered to free agents. */
  async #sweep(): Promise<void> {
    const ctx = this.#ctx;
    for (;;) {
      const expired = await store.expireOverdue(ctx.db, ctx.clock.sqlNow());
      for (const row of expired) await ctx.finished(row, 'FAIL_TIMEOUT_TTL');
      if (expired.length < 1000) break;
    }
    await this.#hooks.sweep();
    await this.#hooks.dispatchActive();
  }
}
