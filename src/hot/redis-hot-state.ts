import type { Cluster, Redis } from 'ioredis';
import { loadLuaScripts } from './lua-scripts.ts';
import {
  MAX_PENDING,
  PENDING_STALE_MS,
  SAMPLES_KEPT,
  decodeSample,
  encodeSample,
  type DueEntry,
  type HotState,
  type InteractionSample,
  type QueueEntry,
  type Taken,
  type Wakeups,
} from './hot-state.ts';
import { callbackIdFromHex } from '../domain/callback-id.ts';

/**
 * The hot state on Redis or Redis Cluster. Keys of a tenant share the hash tag `{t<id>}` so each
 * script touches one slot; the wake-up index is one key of its own, written only by plain commands
 * (never from a script, which could not reach it in a Cluster). Callback ids are stored as
 * their 16 raw bytes (a UUID string would cost 20 more bytes per entry, and a waiting scheduled
 * callback must fit in 150 bytes of Redis memory: docs/BENCHMARKS.md).
 *
 * Command counts matter (INFO commandstats is the budget's measure): each method says what it
 * costs. Scripts are sent with EVALSHA by ioredis, so a script call costs one command plus the
 * commands it runs.
 */

/** The sentinel of the wake-up index, at -inf so that every poll sees it first while the index is intact. */
const SENTINEL = '~intact';
/** Members of the wake-up index that are node liveness entries, not tenants. */
const NODE = '~node:';

/** Read once per process: every RedisHotState defines the same commands. */
const SCRIPTS = loadLuaScripts();

type Client = Redis | Cluster;

interface ScriptClient {
  claimDueBuffer(key: string, now: number, leaseMs: number, limit: number): Promise<Buffer[]>;
  takeBuffer(queue: string, due: string, maxPending: number, watchdogAt: number, staleBefore: number): Promise<[number, ...Buffer[]]>;
  requeue(queue: string, due: string, id: Buffer, score: number): Promise<number>;
  pause(queue: string, due: string, id: Buffer, atMs: number): Promise<number>;
  finish(queue: string, due: string, samples: string, id: Buffer, sample: string, kept: number): Promise<number>;
}

export function idToMember(id: string): Buffer {
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

export function memberToId(m: Buffer): string {
  return callbackIdFromHex(m.toString('hex'));
}

export class RedisHotState implements HotState {
  readonly #redis: Client;
  readonly #scripts: ScriptClient;
  readonly #prefix: string;

  /** `prefix` namespaces every key (tests use a random one); the caller owns the connection. */
  constructor(redis: Client, prefix = 'ges:') {
    this.#redis = redis;
    this.#prefix = prefix;
    // One command per script of ./lua, named after its file (claim-due-1.lua: claimDue, one key).
    for (const s of SCRIPTS) redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
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
  #samples(t: number, s: number): string {
    return `${this.#tag(t)}:s:${s}`;
  }
  get #wake(): string {
    return `${this.#prefix}wake`;
  }

  /** 2 commands: ZADD due, ZADD LT wake. */
  async setDue(tenantId: number, entries: readonly DueEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#zadd(this.#due(tenantId), [], entries);
    await this.#redis.zadd(this.#wake, 'LT', Math.min(...entries.map((e) => e.atMs)), String(tenantId));
  }

  /** 1 command: ZADD XX due. */
  async moveDue(tenantId: number, entries: readonly DueEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#zadd(this.#due(tenantId), ['XX'], entries);
  }

  async #zadd(key: string, flags: string[], entries: readonly DueEntry[]): Promise<void> {
    const args: (string | number | Buffer)[] = [...flags];
    for (const e of entries) args.push(e.atMs, idToMember(e.id));
    await (this.#redis.zadd as (...a: unknown[]) => Promise<unknown>).call(this.#redis, key, ...args);
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

  /** 1 command: the sentinel and the earliest tenants and liveness entries. */
  async wakeups(limit: number): Promise<Wakeups> {
    const flat = await this.#redis.zrange(this.#wake, '0', String(limit), 'WITHSCORES');
    const intact = flat[0] === SENTINEL;
    const tenants: Wakeups['tenants'] = [];
    const nodes: Wakeups['nodes'] = [];
    for (let i = intact ? 2 : 0; i + 1 < flat.length; i += 2) {
      const member = flat[i]!;
      const atMs = Number(flat[i + 1]);
      if (member.startsWith(NODE)) nodes.push({ node: member.slice(NODE.length), atMs });
      else if (Number.isInteger(Number(member))) tenants.push({ tenantId: Number(member), atMs });
    }
    return { intact, tenants, nodes };
  }

  /**
   * 3-4 commands. Sets the wake-up to the earliest due entry, then reads that entry again: an entry
   * added meanwhile by another node (which lowered the wake-up with LT before this overwrote it) is
   * then seen and the wake-up lowered again, so no due entry is ever left behind a later wake-up.
   */
  async settleWakeup(tenantId: number): Promise<number | undefined> {
    const first = await this.#earliestDue(tenantId);
    if (first === undefined) await this.#redis.zrem(this.#wake, String(tenantId));
    else await this.#redis.zadd(this.#wake, first, String(tenantId));
    const again = await this.#earliestDue(tenantId);
    if (again !== undefined && (first === undefined || again < first)) {
      await this.#redis.zadd(this.#wake, 'LT', again, String(tenantId));
      return again;
    }
    return first;
  }

  /** 1 command: ZADD wake. */
  async heartbeat(node: string, untilMs: number): Promise<void> {
    await this.#redis.zadd(this.#wake, Math.ceil(untilMs), NODE + node);
  }

  /** 1 command: ZREM wake. */
  async retire(node: string): Promise<boolean> {
    return (await this.#redis.zrem(this.#wake, NODE + node)) === 1;
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

  /** 1 script: ZRANGE, and when something is taken ZADD queue + ZADD due (2-4 commands in all; a ZREM more when stale entries are dropped). */
  async take(tenantId: number, serviceId: number, maxPending: number, watchdogAtMs: number): Promise<Taken> {
    const most = Math.min(Math.floor(maxPending), MAX_PENDING);
    if (!(most >= 1)) return { ids: [], drained: false };
    const at = Math.ceil(watchdogAtMs);
    const [drained, ...members] = await this.#scripts.takeBuffer(this.#queue(tenantId, serviceId), this.#due(tenantId), most, at, at - PENDING_STALE_MS);
    return { ids: members.map(memberToId), drained: drained === 1 };
  }

  /** 1 command: the last member, which is a waiting one if any waits (pending ones sort first). */
  async hasWaiting(tenantId: number, serviceId: number): Promise<boolean> {
    const last = await this.#redis.zrange(this.#queue(tenantId, serviceId), '-1', '-1', 'WITHSCORES');
    return last.length === 2 && Number(last[1]) >= 0;
  }

  /** 1 command: ZREM queue (the pending entry). */
  async agentFound(tenantId: number, serviceId: number, id: string): Promise<void> {
    await this.#redis.zrem(this.#queue(tenantId, serviceId), idToMember(id));
  }

  /** 1 script (ZADD queue, ZREM due): 3 commands. */
  async requeue(tenantId: number, serviceId: number, id: string, score: number): Promise<void> {
    await this.#scripts.requeue(this.#queue(tenantId, serviceId), this.#due(tenantId), idToMember(id), score);
  }

  /** 1 script (ZREM queue, ZADD due) + ZADD LT wake: 4 commands. */
  async pause(tenantId: number, serviceId: number, id: string, atMs: number): Promise<void> {
    await this.#scripts.pause(this.#queue(tenantId, serviceId), this.#due(tenantId), idToMember(id), Math.ceil(atMs));
    await this.#redis.zadd(this.#wake, 'LT', Math.ceil(atMs), String(tenantId));
  }

  /** 1 script: 2 ZREM, or with a sample ZREM and RPUSH (rarely LTRIM): 3 commands. */
  async finish(tenantId: number, serviceId: number, id: string, sample?: InteractionSample): Promise<void> {
    await this.#scripts.finish(
      this.#queue(tenantId, serviceId),
      this.#due(tenantId),
      this.#samples(tenantId, serviceId),
      idToMember(id),
      sample ? encodeSample(sample) : '',
      SAMPLES_KEPT,
    );
  }

  /** 2 commands: the rank in the queue less the pending callbacks, which sort first. */
  async position(tenantId: number, serviceId: number, id: string): Promise<number | undefined> {
    const key = this.#queue(tenantId, serviceId);
    const [rank, pending] = await Promise.all([this.#redis.zrank(key, idToMember(id)), this.#redis.zcount(key, '-inf', '(0')]);
    return rank === null || rank < pending ? undefined : rank - pending + 1;
  }

  /** 2 commands. */
  async counts(tenantId: number, serviceId: number): Promise<{ waiting: number; pending: number }> {
    const key = this.#queue(tenantId, serviceId);
    const [waiting, pending] = await Promise.all([this.#redis.zcount(key, 0, '+inf'), this.#redis.zcount(key, '-inf', '(0')]);
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
