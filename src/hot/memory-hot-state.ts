import {
  MAX_PENDING,
  PENDING_STALE_MS,
  SAMPLES_KEPT,
  type DueEntry,
  type HotState,
  type InteractionSample,
  type QueueEntry,
  type Taken,
  type Wakeups,
} from './hot-state.ts';
import { SortedSet } from './sorted-set.ts';

/** Members of the wake-up index that are node liveness entries, not tenants (as on Redis). */
const NODE = '~node:';

/**
 * The hot state inside the process, for the embedded single-node mode: the same contract as the
 * Redis one (test/hot-state-contract.test.ts runs both), without a server. Everything is lost
 * with the process, and rebuilt from the database at the next start, as with a flushed Redis.
 */
export class MemoryHotState implements HotState {
  readonly #due = new Map<number, SortedSet>();
  /** Per queue: waiting callbacks by virtual start time, pending ones at negative scores (as on Redis). */
  readonly #queues = new Map<string, SortedSet>();
  readonly #samples = new Map<string, InteractionSample[]>();
  /** Tenants by wake-up time, and node liveness entries (members NODE + id). */
  readonly #wake = new SortedSet();
  #intact = false;

  #dueOf(t: number): SortedSet {
    let s = this.#due.get(t);
    if (!s) this.#due.set(t, (s = new SortedSet()));
    return s;
  }
  #queueOf(t: number, s: number): SortedSet {
    return this.#setOf(this.#queues, `${t}:${s}`);
  }
  #setOf(map: Map<string, SortedSet>, key: string): SortedSet {
    let s = map.get(key);
    if (!s) map.set(key, (s = new SortedSet()));
    return s;
  }

  async setDue(tenantId: number, entries: readonly DueEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const due = this.#dueOf(tenantId);
    for (const e of entries) due.add(e.id, e.atMs);
    this.#wake.addLower(String(tenantId), Math.min(...entries.map((e) => e.atMs)));
  }

  async moveDue(tenantId: number, entries: readonly DueEntry[]): Promise<void> {
    const due = this.#dueOf(tenantId);
    for (const e of entries) if (due.score(e.id) !== undefined) due.add(e.id, e.atMs);
  }

  async claimDue(tenantId: number, nowMs: number, leaseMs: number, limit: number): Promise<string[]> {
    const due = this.#dueOf(tenantId);
    const taken = due.upTo(nowMs, limit).map((e) => e.member);
    for (const id of taken) due.add(id, Math.floor(nowMs) + Math.ceil(leaseMs));
    return taken;
  }

  async removeDue(tenantId: number, ids: readonly string[]): Promise<void> {
    const due = this.#dueOf(tenantId);
    for (const id of ids) due.delete(id);
  }

  async wakeups(limit: number): Promise<Wakeups> {
    const head = this.#wake.head(limit);
    return {
      intact: this.#intact,
      tenants: head.filter((e) => !e.member.startsWith(NODE)).map((e) => ({ tenantId: Number(e.member), atMs: e.score })),
      nodes: head.filter((e) => e.member.startsWith(NODE)).map((e) => ({ node: e.member.slice(NODE.length), atMs: e.score })),
    };
  }

  async heartbeat(node: string, untilMs: number): Promise<void> {
    this.#wake.add(NODE + node, Math.ceil(untilMs));
  }

  async retire(node: string): Promise<boolean> {
    return this.#wake.delete(NODE + node);
  }

  async settleWakeup(tenantId: number): Promise<number | undefined> {
    const first = this.#dueOf(tenantId).first();
    if (first) this.#wake.add(String(tenantId), first.score);
    else this.#wake.delete(String(tenantId));
    return first?.score;
  }

  async enqueue(tenantId: number, serviceId: number, entries: readonly QueueEntry[]): Promise<void> {
    const q = this.#queueOf(tenantId, serviceId);
    for (const e of entries) q.add(e.id, e.score);
  }

  async take(tenantId: number, serviceId: number, maxPending: number, watchdogAtMs: number): Promise<Taken> {
    const most = Math.min(Math.floor(maxPending), MAX_PENDING);
    if (!(most >= 1)) return { ids: [], drained: false };
    const queue = this.#queueOf(tenantId, serviceId);
    const at = Math.ceil(watchdogAtMs);
    const first = queue.head(most + 1);
    const waiting = first.filter((e) => e.score >= 0).map((e) => e.member);
    const stale = first.filter((e) => e.score < 0 && -e.score < at - PENDING_STALE_MS);
    for (const e of stale) queue.delete(e.member);
    const live = first.length - waiting.length - stale.length;
    const ids = waiting.slice(0, Math.max(0, most - live));
    for (const id of ids) {
      queue.add(id, -at);
      this.#dueOf(tenantId).add(id, at);
    }
    return { ids, drained: first.length <= most && ids.length === waiting.length };
  }

  async hasWaiting(tenantId: number, serviceId: number): Promise<boolean> {
    const queue = this.#queueOf(tenantId, serviceId);
    return queue.size > queue.countBelow(0);
  }

  async agentFound(tenantId: number, serviceId: number, id: string): Promise<void> {
    this.#queueOf(tenantId, serviceId).delete(id);
  }

  async requeue(tenantId: number, serviceId: number, id: string, score: number): Promise<void> {
    this.#queueOf(tenantId, serviceId).add(id, score);
    this.#dueOf(tenantId).delete(id);
  }

  async pause(tenantId: number, serviceId: number, id: string, atMs: number): Promise<void> {
    this.#queueOf(tenantId, serviceId).delete(id);
    this.#dueOf(tenantId).add(id, Math.ceil(atMs));
    this.#wake.addLower(String(tenantId), Math.ceil(atMs));
  }

  async finish(tenantId: number, serviceId: number, id: string, sample?: InteractionSample): Promise<void> {
    if (!sample) this.#queueOf(tenantId, serviceId).delete(id); // with one, agentFound took it out already
    this.#dueOf(tenantId).delete(id);
    if (sample) {
      const key = `${tenantId}:${serviceId}`;
      const list = this.#samples.get(key) ?? [];
      list.push({ atMs: Math.round(sample.atMs), handleSec: Math.round(sample.handleSec * 10) / 10, waitSec: Math.round(sample.waitSec * 10) / 10 });
      if (list.length > SAMPLES_KEPT) list.splice(0, list.length - SAMPLES_KEPT);
      this.#samples.set(key, list);
    }
  }

  async position(tenantId: number, serviceId: number, id: string): Promise<number | undefined> {
    const queue = this.#queueOf(tenantId, serviceId);
    const rank = queue.rank(id);
    const pending = queue.countBelow(0);
    return rank === undefined || rank < pending ? undefined : rank - pending + 1;
  }

  async counts(tenantId: number, serviceId: number): Promise<{ waiting: number; pending: number }> {
    const queue = this.#queueOf(tenantId, serviceId);
    const pending = queue.countBelow(0);
    return { waiting: queue.size - pending, pending };
  }

  async samples(tenantId: number, serviceId: number): Promise<InteractionSample[]> {
    return [...(this.#samples.get(`${tenantId}:${serviceId}`) ?? [])];
  }

  async markIntact(): Promise<void> {
    this.#intact = true;
  }

  /** Forgets everything, as a flushed Redis would (tests of the rebuild). */
  flush(): void {
    this.#due.clear();
    this.#queues.clear();
    this.#wake.clear();
    this.#intact = false;
  }

  async close(): Promise<void> {}
}
