import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { SAMPLES_KEPT, decodeSample, encodeSample, type DueEntry, type HotState, type InteractionSample, type QueueEntry, type Wakeups } from './hot-state.ts';

/**
 * The hot state on Redis or Redis Cluster. Keys of a tenant share the hash tag `{t<id>}` so each
 * script touches one slot; the wake-up index is one key of its own. Callback ids are stored as
 * their 16 raw bytes (a UUID string would cost 20 more bytes per entry, and a waiting scheduled
 * callback must fit in 150 bytes of Redis memory: docs/BENCHMARKS.md).
 *
 * Command counts matter (INFO commandstats is the budget's measure): each method says what it
 * costs. Scripts are sent with EVALSHA by ioredis, so a script call costs one command plus the
 * commands it runs.
 */

const LUA = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

/** The sentinel of the wake-up index, at -inf so that every poll sees it first while the index is intact. */
const SENTINEL = '~intact';

type Client = Redis | Cluster;

interface ScriptClient {
  claimDueBuffer(key: string, now: number, leaseMs: number, limit: number): Promise<Buffer[]>;
  takeHeadBuffer(queue: string, pending: string, due: string, maxPending: number, watchdogAt: number): Promise<Buffer | number | null>;
  requeue(queue: string, pending: string, due: string, id: Buffer, score: number): Promise<number>;
  pause(pending: string, due: string, id: Buffer, atMs: number): Promise<number>;
  finish(queue: string, pending: string, due: string, samples: string, id: Buffer, sample: string, kept: number): Promise<number>;
}

export function idToMember(id: string): Buffer {
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

export function memberToId(m: Buffer): string {
  const h = m.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class RedisHotState implements HotState {
  readonly #redis: Client;
  readonly #scripts: ScriptClient;
  readonly #prefix: string;

  /** `prefix` namespaces every key (tests use a random one); the caller owns the connection. */
  constructor(redis: Client, prefix = 'ges:') {
    this.#redis = redis;
    this.#prefix = prefix;
    redis.defineCommand('claimDue', { numberOfKeys: 1, lua: LUA('claim-due') });
    redis.defineCommand('takeHead', { numberOfKeys: 3, lua: LUA('take-head') });
    redis.defineCommand('requeue', { numberOfKeys: 3, lua: LUA('requeue') });
    redis.defineCommand('pause', { numberOfKeys: 2, lua: LUA('pause') });
    redis.defineCommand('finish', { numberOfKeys: 4, lua: LUA('finish') });
    this.#scripts = redis as unknown as ScriptClient;
  }

  #tag(tenantId: number): string {
    return `${this.#prefix}{t${tenantId}}`;
  }
  #due(t: number): string {
    return `${this.#tag(t)}:due`;
  }
  #queue(t: number, s: number): string {
    return `${this.#tag(t)}:q:${s}`;
  }
  #pending(t: number, s: number): string {
    return `${this.#tag(t)}:p:${s}`;
  }
  #samples(t: number, s: number): string {
    return `${this.#tag(t)}:s:${s}`;
  }
  get #wake(): string {
    return `${this.#prefix}wake`;
  }

  /** 2 commands: ZADD due, ZADD LT wake. */
  async setDue(tenantId: number, entries: readonly DueEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: (number | Buffer)[] = [];
    let min = Infinity;
    for (const e of entries) {
      args.push(e.atMs, idToMember(e.id));
      min = Math.min(min, e.atMs);
    }
    await (this.#redis.zadd as (...a: unknown[]) => Promise<unknown>).call(this.#redis, this.#due(tenantId), ...args);
    await this.#redis.zadd(this.#wake, 'LT', min, String(tenantId));
  }

  /** 1 script (ZRANGE + ZADD when something is due). */
  async claimDue(tenantId: number, nowMs: number, leaseMs: number, limit: number): Promise<string[]> {
    const members = await this.#scripts.claimDueBuffer(this.#due(tenantId), Math.floor(nowMs), Math.ceil(leaseMs), limit);
    return members.map(memberToId);
  }

  async removeDue(tenantId: number, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#redis.zrem(this.#due(tenantId), ...ids.map(idToMember));
  }

  /** 1 command: the sentinel and the earliest tenants. */
  async wakeups(limit: number): Promise<Wakeups> {
    const flat = await this.#redis.zrange(this.#wake, '0', String(limit), 'WITHSCORES');
    const intact = flat[0] === SENTINEL;
    const tenants: Wakeups['tenants'] = [];
    for (let i = intact ? 2 : 0; i + 1 < flat.length; i += 2) {
      const tenantId = Number(flat[i]);
      if (Number.isInteger(tenantId)) tenants.push({ tenantId, atMs: Number(flat[i + 1]) });
    }
    return { intact, tenants };
  }

  /**
   * 3-4 commands. Sets the wake-up to the earliest due entry, then reads that entry again: an entry
   * added meanwhile by another node (which lowered the wake-up with LT before this overwrote it) is
   * then seen and the wake-up lowered again, so no due entry is ever left behind a later wake-up.
   */
  async settleWakeup(tenantId: number): Promise<void> {
    const first = await this.#earliestDue(tenantId);
    if (first === undefined) await this.#redis.zrem(this.#wake, String(tenantId));
    else await this.#redis.zadd(this.#wake, first, String(tenantId));
    const again = await this.#earliestDue(tenantId);
    if (again !== undefined && (first === undefined || again < first)) await this.#redis.zadd(this.#wake, 'LT', again, String(tenantId));
  }

  async #earliestDue(tenantId: number): Promise<number | undefined> {
    const r = await this.#redis.zrange(this.#due(tenantId), '0', '0', 'WITHSCORES');
    return r.length >= 2 ? Number(r[1]) : undefined;
  }

  /** 1 command. */
  async enqueue(tenantId: number, serviceId: number, entries: readonly QueueEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: (number | Buffer)[] = [];
    for (const e of entries) args.push(e.score, idToMember(e.id));
    await (this.#redis.zadd as (...a: unknown[]) => Promise<unknown>).call(this.#redis, this.#queue(tenantId, serviceId), ...args);
  }

  /** 1 script (ZCARD, ZPOPMIN, ZADD, ZADD) + ZADD LT wake when a callback was taken. */
  async takeHead(tenantId: number, serviceId: number, maxPending: number, watchdogAtMs: number): Promise<string | 'paced' | undefined> {
    if (maxPending <= 0) return 'paced';
    const m = await this.#scripts.takeHeadBuffer(this.#queue(tenantId, serviceId), this.#pending(tenantId, serviceId), this.#due(tenantId), maxPending, Math.ceil(watchdogAtMs));
    if (m === 0) return 'paced';
    if (!m || typeof m === 'number') return undefined;
    await this.#redis.zadd(this.#wake, 'LT', Math.ceil(watchdogAtMs), String(tenantId));
    return memberToId(m);
  }

  /** 1 command. */
  async agentFound(tenantId: number, serviceId: number, id: string): Promise<void> {
    await this.#redis.zrem(this.#pending(tenantId, serviceId), idToMember(id));
  }

  async requeue(tenantId: number, serviceId: number, id: string, score: number): Promise<void> {
    await this.#scripts.requeue(this.#queue(tenantId, serviceId), this.#pending(tenantId, serviceId), this.#due(tenantId), idToMember(id), score);
  }

  async pause(tenantId: number, serviceId: number, id: string, atMs: number): Promise<void> {
    await this.#scripts.pause(this.#pending(tenantId, serviceId), this.#due(tenantId), idToMember(id), Math.ceil(atMs));
    await this.#redis.zadd(this.#wake, 'LT', Math.ceil(atMs), String(tenantId));
  }

  /** 1 script (3 ZREM + RPUSH, rarely LTRIM). */
  async finish(tenantId: number, serviceId: number, id: string, sample?: InteractionSample): Promise<void> {
    await this.#scripts.finish(
      this.#queue(tenantId, serviceId), this.#pending(tenantId, serviceId), this.#due(tenantId), this.#samples(tenantId, serviceId),
      idToMember(id), sample ? encodeSample(sample) : '', SAMPLES_KEPT,
    );
  }

  async position(tenantId: number, serviceId: number, id: string): Promise<number | undefined> {
    const rank = await this.#redis.zrank(this.#queue(tenantId, serviceId), idToMember(id));
    return rank === null ? undefined : rank + 1;
  }

  async counts(tenantId: number, serviceId: number): Promise<{ waiting: number; pending: number }> {
    const [waiting, pending] = await Promise.all([
      this.#redis.zcard(this.#queue(tenantId, serviceId)),
      this.#redis.zcard(this.#pending(tenantId, serviceId)),
    ]);
    return { waiting, pending };
  }

  async samples(tenantId: number, serviceId: number): Promise<InteractionSample[]> {
    const raw = await this.#redis.lrange(this.#samples(tenantId, serviceId), -SAMPLES_KEPT, -1);
    return raw.map(decodeSample).filter((s): s is InteractionSample => s !== undefined);
  }

  async markIntact(): Promise<void> {
    await this.#redis.zadd(this.#wake, '-inf', SENTINEL);
  }

  async close(): Promise<void> {
    // The connection belongs to the caller.
  }
}
