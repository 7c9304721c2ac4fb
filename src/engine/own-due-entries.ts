import type { DueEntry, HotState, InteractionSample, QueueEntry, Taken, Wakeups } from '../hot/hot-state.ts';
import { SortedSet } from '../hot/sorted-set.ts';

/**
 * The hot state as one engine node uses it, remembering the due entries this node must time
 * itself: watchdogs it wrote without announcing them on the wake-up index (take, moveDue), and
 * entries it claimed, whose lease it watches in case handling them left them in place. Announcing
 * a watchdog would cost a command, and a wasted wake-up when the call ends before it, as most do;
 * instead the node keeps its liveness entry fresh, and if it dies another node rebuilds the index
 * from Postgres, which announces everything.
 *
 * An entry is forgotten as soon as this node removes, announces or re-queues it, so a callback
 * that finished here costs nothing when its watchdog time comes; one finished on another node
 * costs one empty claim. When this node moves an attempt on, it learns the attempt's next
 * watchdog time from Postgres (`later`); the entry is moved there only if it falls due first
 * (one command for all such entries of a tenant), so most calls never move theirs.
 */
export class OwnDueEntries implements HotState {
  readonly #hot: HotState;
  readonly #times = new SortedSet();
  readonly #tenantOf = new Map<string, number>();
  /** Later watchdog times learnt from Postgres for own entries, applied only when the entry falls due. */
  readonly #later = new Map<string, number>();

  constructor(hot: HotState) {
    this.#hot = hot;
  }

  // ---- what this node must time ---------------------------------------------------------------------

  /** When this node must next look at its own entries, if it has any. */
  earliest(): number | undefined {
    return this.#times.first()?.score;
  }

  /** An attempt this node moved on is next due at `atMs` (Postgres's due_at): its own entry, if any, follows when it falls due. */
  later(id: string, atMs: number): void {
    const at = this.#times.score(id);
    if (at !== undefined && atMs > at) this.#later.set(id, atMs);
  }

  /**
   * Moves own entries due at `nowMs` whose later time is known to that time, without a claim:
   * one unannounced move per tenant. What is left due needs a claim (dueTenants).
   */
  async moveKnown(nowMs: number): Promise<void> {
    const byTenant = new Map<number, DueEntry[]>();
    for (const e of this.#times.upTo(nowMs, Infinity)) {
      const later = this.#later.get(e.member);
      if (later === undefined) continue;
      const tenantId = this.#tenantOf.get(e.member)!;
      byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), { id: e.member, atMs: later }]);
    }
    for (const [tenantId, entries] of byTenant) await this.moveDue(tenantId, entries);
  }

  /** Tenants with own entries due at `nowMs`. */
  dueTenants(nowMs: number): Set<number> {
    return new Set(this.#times.upTo(nowMs, Infinity).map((e) => this.#tenantOf.get(e.member)!));
  }

  /** Tenants with any own entry. */
  tenants(): Set<number> {
    return new Set(this.#tenantOf.values());
  }

  /**
   * A tenant's due entries up to `nowMs` have been claimed: own entries still at or before that
   * time were not in the index any more (finished elsewhere) and are forgotten. Claimed ones were
   * moved to their lease end by claimDue and stay.
   */
  looked(tenantId: number, nowMs: number): void {
    for (const e of this.#times.upTo(nowMs, Infinity)) if (this.#tenantOf.get(e.member) === tenantId) this.#forget(e.member);
  }

  #remember(tenantId: number, id: string, atMs: number): void {
    this.#times.add(id, atMs);
    this.#tenantOf.set(id, tenantId);
    this.#later.delete(id);
  }

  #forget(id: string): void {
    if (this.#times.delete(id)) this.#tenantOf.delete(id);
    this.#later.delete(id);
  }

  // ---- the hot state, with the bookkeeping above -------------------------------------------------------

  async setDue(tenantId: number, entries: readonly DueEntry[]): Promise<void> {
    await this.#hot.setDue(tenantId, entries);
    for (const e of entries) this.#forget(e.id); // announced: any node finds it
  }

  async moveDue(tenantId: number, entries: readonly DueEntry[]): Promise<void> {
    await this.#hot.moveDue(tenantId, entries);
    for (const e of entries) this.#remember(tenantId, e.id, e.atMs);
  }

  async claimDue(tenantId: number, nowMs: number, leaseMs: number, limit: number): Promise<string[]> {
    const ids = await this.#hot.claimDue(tenantId, nowMs, leaseMs, limit);
    for (const id of ids) this.#remember(tenantId, id, Math.floor(nowMs) + Math.ceil(leaseMs));
    return ids;
  }

  async removeDue(tenantId: number, ids: readonly string[]): Promise<void> {
    await this.#hot.removeDue(tenantId, ids);
    for (const id of ids) this.#forget(id);
  }

  wakeups(limit: number): Promise<Wakeups> {
    return this.#hot.wakeups(limit);
  }

  settleWakeup(tenantId: number): Promise<number | undefined> {
    return this.#hot.settleWakeup(tenantId);
  }

  heartbeat(node: string, untilMs: number): Promise<void> {
    return this.#hot.heartbeat(node, untilMs);
  }

  retire(node: string): Promise<boolean> {
    return this.#hot.retire(node);
  }

  enqueue(tenantId: number, serviceId: number, entries: readonly QueueEntry[]): Promise<void> {
    return this.#hot.enqueue(tenantId, serviceId, entries);
  }

  async take(tenantId: number, serviceId: number, maxPending: number, watchdogAtMs: number): Promise<Taken> {
    const taken = await this.#hot.take(tenantId, serviceId, maxPending, watchdogAtMs);
    for (const id of taken.ids) this.#remember(tenantId, id, Math.ceil(watchdogAtMs));
    return taken;
  }

  hasWaiting(tenantId: number, serviceId: number): Promise<boolean> {
    return this.#hot.hasWaiting(tenantId, serviceId);
  }

  agentFound(tenantId: number, serviceId: number, id: string): Promise<void> {
    return this.#hot.agentFound(tenantId, serviceId, id);
  }

  async requeue(tenantId: number, serviceId: number, id: string, score: number): Promise<void> {
    await this.#hot.requeue(tenantId, serviceId, id, score);
    this.#forget(id);
  }

  async pause(tenantId: number, serviceId: number, id: string, atMs: number): Promise<void> {
    await this.#hot.pause(tenantId, serviceId, id, atMs);
    this.#forget(id); // announced
  }

  async finish(tenantId: number, serviceId: number, id: string, sample?: InteractionSample): Promise<void> {
    await this.#hot.finish(tenantId, serviceId, id, sample);
    this.#forget(id);
  }

  position(tenantId: number, serviceId: number, id: string): Promise<number | undefined> {
    return this.#hot.position(tenantId, serviceId, id);
  }

  counts(tenantId: number, serviceId: number): Promise<{ waiting: number; pending: number }> {
    return this.#hot.counts(tenantId, serviceId);
  }

  samples(tenantId: number, serviceId: number): Promise<InteractionSample[]> {
    return this.#hot.samples(tenantId, serviceId);
  }

  markIntact(): Promise<void> {
    return this.#hot.markIntact();
  }

  close(): Promise<void> {
    return this.#hot.close();
  }
}
