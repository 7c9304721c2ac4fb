/**
 * Agent presence as every GES node sees it. Presence is not work to share out but state each node
 * must know (the engine asks availableAgents() synchronously, on any node), so it does not go
 * through a consumer group: the platform keeps a hash of the agents ready now and announces every
 * change on a presence stream; each node loads the hash once and then follows the stream with a
 * plain XREAD, keeping its own copy in memory.
 *
 * - Snapshot: one MULTI reads the last id of the stream and the hash together (same hash tag), so
 *   following the stream from that id misses nothing and replays nothing older than the snapshot.
 * - Changes are absolute (agent X ready / not ready), so replaying one is harmless.
 * - Liveness and age: the platform writes a heartbeat every `intervalMs`; presence counts for 3
 *   intervals after the last heartbeat was written, then reads as no agent (a platform that died
 *   does not leave its agents "free" on every node). A heartbeat is dated by its entry id (Redis's
 *   clock), not by when this node read it: a reply that sat in the socket of a node frozen for
 *   longer than the window is known to be that old, so the node reports 0 until it has read a
 *   current one instead of acting on stale agents. A `presence_reset` forgets everything.
 * - A read is applied whole before its agent events are delivered, so a handler never sees a copy
 *   half way through a backlog.
 * - After a read error (Redis restarted, connection lost) the node reloads the snapshot, since
 *   changes may have been missed.
 * - Cost: one XREAD per heartbeat (or per `blockMs` when the platform is silent).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { presenceDecoder, type AgentPresenceEvent } from '../voice-contract.ts';
import { backoffMs, blockingConnection, entriesOfReadReply, entryList, errorMessage, hashReply, type RedisClient } from './redis-client.ts';
import type { VoiceStreamKeys } from './voice-stream-keys.ts';

/** Hash field holding the platform's last heartbeat (agent fields are JSON arrays, so no clash). */
export const HEARTBEAT_FIELD = '@heartbeat';

/** Presence counts for this many heartbeat intervals after the last heartbeat. */
export const HEARTBEAT_LIVES = 3;

/** The hash field of an agent of a queue: a JSON array, so no name can make two fields collide. */
export function presenceField(tenant: string, queue: string, agentId: string): string {
  return JSON.stringify([tenant, queue, agentId]);
}

export interface AgentPresenceOptions {
  readonly client: RedisClient;
  readonly keys: VoiceStreamKeys;
  readonly consumer: string;
  readonly blockMs: number;
  readonly count: number;
  readonly logger: Logger;
  /** Receives every agent_ready / agent_not_ready seen on the stream (not those of the snapshot). */
  deliver(event: AgentPresenceEvent): Promise<void>;
  /** How long an agent who stopped being free still counts as logged in (default LOGGED_IN_HORIZON_MS). */
  readonly loggedInHorizonMs?: number;
}

/**
 * The contract says only whether an agent is free, and "not free" covers talking, wrap-up and
 * logging out alike. An agent who was free in the last 30 minutes is counted as logged in (busy), so
 * the wait estimators still see a team at work when every agent is on a call; one who really left
 * drops out after this horizon, longer than any usual handle time.
 */
export const LOGGED_IN_HORIZON_MS = 30 * 60_000;

interface Session {
  active: boolean;
  readonly abort: AbortController;
  readonly blocking: RedisClient;
  loop: Promise<void> | undefined;
}

export class AgentPresence {
  readonly #o: AgentPresenceOptions;
  /** Ready agent ids by queue key (JSON [tenant, queue]). */
  readonly #ready = new Map<string, Set<string>>();
  /** performance.now() when each agent who was free stopped being free, by queue key. */
  readonly #busySince = new Map<string, Map<string, number>>();
  /** performance.now() of the last heartbeat seen, and its interval. */
  #beat: { at: number; intervalMs: number } | undefined;
  #lastId = '0-0';
  #session: Session | undefined;

  constructor(options: AgentPresenceOptions) {
    this.#o = options;
  }

  /** Free agents of the queue as last reported, or 0 when stopped or the platform is silent. */
  available(tenant: string, queue: string): number {
    if (this.#session === undefined || !this.#alive()) return 0;
    return this.#ready.get(queueKey(tenant, queue))?.size ?? 0;
  }

  /** Agents of the queue free now or free within the logged-in horizon; 0 when stopped or the platform is silent. */
  loggedIn(tenant: string, queue: string): number {
    if (this.#session === undefined || !this.#alive()) return 0;
    const free = this.#ready.get(queueKey(tenant, queue))?.size ?? 0;
    const busy = this.#busySince.get(queueKey(tenant, queue));
    if (busy === undefined) return free;
    const horizon = performance.now() - (this.#o.loggedInHorizonMs ?? LOGGED_IN_HORIZON_MS);
    for (const [agentId, since] of busy) if (since < horizon) busy.delete(agentId);
    return free + busy.size;
  }

  async start(): Promise<void> {
    if (this.#session !== undefined) return;
    await this.#loadSnapshot();
    const blocking = blockingConnection(this.#o.client, `${this.#o.consumer}:presence`);
    blocking.on('error', (error: unknown) => this.#o.logger.debug({ stream: 'presence', err: errorMessage(error) }, 'blocking connection error'));
    const session: Session = { active: true, abort: new AbortController(), blocking, loop: undefined };
    this.#session = session;
    session.loop = this.#readLoop(session);
  }

  async stop(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    session.active = false;
    session.abort.abort();
    session.blocking.disconnect();
    await session.loop;
  }

  #alive(): boolean {
    return this.#beat !== undefined && performance.now() - this.#beat.at <= HEARTBEAT_LIVES * this.#beat.intervalMs;
  }

  async #loadSnapshot(): Promise<void> {
    const { keys } = this.#o;
    const results = await this.#o.client.multi().call('XREVRANGE', keys.presenceChanges, '+', '-', 'COUNT', '1').call('HGETALL', keys.presenceReady).exec();
    if (results === null) throw new Error('presence snapshot transaction was aborted');
    for (const [error] of results) if (error) throw error;
    const last = entryList(results[0]?.[1])[0];
    const hash = hashReply(results[1]?.[1]);
    this.#ready.clear();
    this.#beat = undefined;
    for (const [field, value] of hash) {
      if (field === HEARTBEAT_FIELD) {
        const intervalMs = Number((safeJson(value) as { intervalMs?: unknown } | undefined)?.intervalMs);
        // The hash outlives the platform by at most 3 intervals (its TTL), so a heartbeat field
        // present now means "alive as of now".
        if (Number.isFinite(intervalMs) && intervalMs > 0) this.#beat = { at: performance.now(), intervalMs };
        continue;
      }
      const agent = safeJson(field);
      if (!Array.isArray(agent) || agent.length !== 3) continue;
      const [tenant, queue, agentId] = agent as unknown[];
      if (typeof tenant === 'string' && typeof queue === 'string' && typeof agentId === 'string') this.#set(tenant, queue, agentId, true);
    }
    this.#lastId = last?.id ?? '0-0';
  }

  async #readLoop(session: Session): Promise<void> {
    const o = this.#o;
    let failures = 0;
    while (session.active) {
      try {
        if (failures > 0) await this.#loadSnapshot();
        const reply = await session.blocking.call(
          'XREAD',
          'COUNT',
          String(o.count),
          'BLOCK',
          String(o.blockMs),
          'STREAMS',
          o.keys.presenceChanges,
          this.#lastId,
        );
        failures = 0;
        const changed: AgentPresenceEvent[] = [];
        for (const entry of entriesOfReadReply(reply)) {
          this.#lastId = entry.id;
          const decoded = presenceDecoder.decode(entry.fields);
          if (!decoded.ok) {
            o.logger.warn({ stream: 'presence', id: entry.id, reason: decoded.reason }, 'malformed presence entry dropped');
            continue;
          }
          const body = decoded.value;
          switch (body.type) {
            case 'presence_heartbeat':
              this.#beat = { at: performance.now() - entryAgeMs(entry.id), intervalMs: body.intervalMs };
              break;
            case 'presence_reset':
              this.#ready.clear();
              this.#busySince.clear();
              this.#beat = undefined;
              break;
            case 'agent_ready':
            case 'agent_not_ready':
              this.#set(body.tenant, body.queue, body.agentId, body.type === 'agent_ready');
              changed.push(body);
              break;
          }
        }
        for (const body of changed) {
          await o.deliver(body).catch((error: unknown) => o.logger.warn({ stream: 'presence', err: errorMessage(error) }, 'presence event handler failed'));
        }
      } catch (error) {
        if (!session.active) break;
        failures += 1;
        o.logger.warn({ stream: 'presence', err: errorMessage(error), failures }, 'presence read failed; reloading the snapshot');
        await delay(backoffMs(failures), undefined, { signal: session.abort.signal }).catch(() => undefined);
      }
    }
  }

  #set(tenant: string, queue: string, agentId: string, ready: boolean): void {
    const key = queueKey(tenant, queue);
    let agents = this.#ready.get(key);
    if (ready) {
      if (agents === undefined) this.#ready.set(key, (agents = new Set()));
      agents.add(agentId);
      this.#busySince.get(key)?.delete(agentId);
    } else if (agents?.delete(agentId)) {
      if (agents.size === 0) this.#ready.delete(key);
      let busy = this.#busySince.get(key);
      if (busy === undefined) this.#busySince.set(key, (busy = new Map<string, number>()));
      busy.set(agentId, performance.now());
    }
  }
}

/**
 * How long ago Redis wrote the entry, by the milliseconds of its id (Redis's clock) against this
 * node's: never negative, so a node whose clock is behind takes the entry as just written.
 */
export function entryAgeMs(id: string, nowMs = Date.now()): number {
  const writtenMs = Number(id.slice(0, id.indexOf('-')));
  return Number.isFinite(writtenMs) ? Math.max(0, nowMs - writtenMs) : 0;
}

function queueKey(tenant: string, queue: string): string {
  return JSON.stringify([tenant, queue]);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
