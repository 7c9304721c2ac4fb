import { SAMPLES_KEPT, type DueEntry, type HotState, type InteractionSample, type QueueEntry, type Wakeups } from './hot-state.ts';
import { SortedSet } from './sorted-set.ts';

/**
 * The hot state inside the process, for the embedded single-node mode: the same contract as the
 * Redis one (test/hot-state-contract.test.ts runs both), without a server. Everything is lost
 * with the process, and rebuilt from the database at the next start, as with a flushed Redis.
 */
export class MemoryHotState implements HotState {
  readonly #due = new Map<number, SortedSet>();
  readonly #queues = new Map<string, SortedSet>();
  readonly #pending = new Map<string, SortedSet>();
  readonly #samples = new Map<string, InteractionSample[]>();
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
  #pendingOf(t: number, s: number): SortedSet {
    return this.#setOf(this.#pending, `${t}:${s}`);
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
    return { intact: this.#intact, tenants: this.#wake.head(limit).map((e) => ({ tenantId: Number(e.member), atMs: e.score })) };
  }

  async settleWakeup(tenantId: number): Promise<void> {
    const first = this.#dueOf(tenantId).first();
    if (first) this.#wake.add(String(tenantId), first.score);
    else this.#wake.delete(String(tenantId));
  }

  async enqueue(tenantId: number, serviceId: number, entries: readonly QueueEntry[]): Promise<void> {
    const q = this.#queueOf(tenantId, serviceId);
    for (const e of entries) q.add(e.id, e.score);
  }

  async takeHead(tenantId: number, serviceId: number, maxPending: number, watchdogAtMs: number): Promise<string | 'paced' | undefined> {
    const pending = this.#pendingOf(tenantId, serviceId);
    if (maxPending <= 0 || pending.size >= maxPending) return 'paced';
    const head = this.#queueOf(tenantId, serviceId).popFirst();
    if (!head) return undefined;
    pending.add(head.member, head.score);
    this.#dueOf(tenantId).add(head.member, Math.ceil(watchdogAtMs));
    this.#wake.addLower(String(tenantId), Math.ceil(watchdogAtMs));
    return head.member;
  }

  async agentFound(tenantId: number, serviceId: number, id: string): Promise<void> {
    this.#pendingOf(tenantId, serviceId).delete(id);
  }

  async requeue(tenantId: number, serviceId: number, id: string, score: number): Promise<void> {
    this.#pendingOf(tenantId, serviceId).delete(id);
    this.#dueOf(tenantId).delete(id);
    this.#queueOf(tenantId, serviceId).add(id, score);
  }

  async pause(tenantId: number, serviceId: number, id: string, atMs: number): Promise<void> {
    this.#pendingOf(tenantId, serviceId).delete(id);
    this.#dueOf(tenantId).add(id, Math.ceil(atMs));
    this.#wake.addLower(String(tenantId), Math.ceil(atMs));
  }

  async finish(tenantId: number, serviceId: number, id: string, sample?: InteractionSample): Promise<void> {
    this.#queueOf(tenantId, serviceId).delete(id);
    this.#pendingOf(tenantId, serviceId).delete(id);
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
    const rank = this.#queueOf(tenantId, serviceId).rank(id);
    return rank === undefined ? undefined : rank + 1;
  }

  async counts(tenantId: number, serviceId: number): Promise<{ waiting: number; pending: number }> {
    return { waiting: this.#queueOf(tenantId, serviceId).size, pending: this.#pendingOf(tenantId, serviceId).size };
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
    this.#pending.clear();
    this.#wake.clear();
    this.#intact = false;
  }

  async close(): Promise<void> {}
}
